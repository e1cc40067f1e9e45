import { deflateSync } from 'node:zlib';

import type { DepartmentSpec } from '../harness/engine';
import type { SeedMessage, SimContactSeed } from '../harness/rapidpro-sim/simulator';

/** Seed data of the sandbox: departments, a sample contact with a bot conversation, sample files. */

export const DEPARTMENTS: DepartmentSpec[] = [
    { name: 'General', agents: [{ username: 'alice', name: 'Alice Agent', online: true }] },
    { name: 'Cardiology', agents: [{ username: 'bob', name: 'Dr Bob', online: true }] },
    { name: 'Night shift', agents: [{ username: 'carol', name: 'Carol', online: false }] },
];

export const SAMPLE_CONTACT: SimContactSeed & { name: string; language: string; urns: string[] } = {
    uuid: '5b1c3a9e-7d42-4f6b-9a8e-2c4d6f8a0b1c',
    name: 'Maria Silva',
    language: 'eng',
    urns: ['whatsapp:5511987654321'],
};

export const SAMPLE_FLOW = { uuid: 'a1b2c3d4-0000-4000-8000-000000000001', name: 'Triage' };

/** Started by the app when an agent closes a chat (setting close_flow_uuid). */
export const CLOSE_FLOW = { uuid: 'f0e1d2c3-0000-4000-8000-0000000000c1', name: 'Back to the bot' };

/** What the contact said to the bot before the handoff (shown when a handoff asks for "history"). */
export function sampleBotHistory(): SeedMessage[] {
    const minutesAgo = (m: number): Date => new Date(Date.now() - m * 60_000);
    // The bot's messages come from the triage flow (RapidPro reports it; the bridge's own have none).
    const flow = SAMPLE_FLOW;
    return [
        { direction: 'in', text: 'Hi', created_on: minutesAgo(6) },
        { direction: 'out', text: 'Hello! What brings you here today? 1) Fever 2) Chest pain 3) Other', created_on: minutesAgo(6), flow },
        { direction: 'in', text: '1', created_on: minutesAgo(5) },
        { direction: 'out', text: 'Since when do you have fever?', created_on: minutesAgo(5), flow },
        { direction: 'in', text: 'Since yesterday evening', created_on: minutesAgo(4) },
        { direction: 'out', text: 'Thanks. A health worker will talk to you now.', created_on: minutesAgo(4), flow },
    ];
}

/** RapidPro's default Call Webhook body for a contact (what `@(json(object(...)))` renders to). */
export function defaultWebhookBody(
    contact: { uuid: string; name?: string; urn?: string },
    extra: Record<string, unknown> = {},
): Record<string, unknown> {
    return {
        contact: { uuid: contact.uuid, name: contact.name ?? null, urn: contact.urn ?? null },
        flow: { uuid: SAMPLE_FLOW.uuid, name: SAMPLE_FLOW.name },
        results: { symptom: { value: '1', category: 'Fever' }, since: { value: 'Since yesterday evening', category: 'All Responses' } },
        ...extra,
    };
}

// ------------------------------------------------------------------ sample files the contact can "send"

const CRC_TABLE = ((): Uint32Array => {
    const table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
        let c = n;
        for (let k = 0; k < 8; k++) {
            c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
        }
        table[n] = c >>> 0;
    }
    return table;
})();

function crc32(bytes: Buffer): number {
    let c = 0xffffffff;
    for (const byte of bytes) {
        c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
    }
    return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
}

/** A small RGB PNG (a diagonal gradient with a white cross, like a first-aid sign). */
export function samplePng(size = 96): Buffer {
    const rows: Buffer[] = [];
    const arm = size / 6;
    for (let y = 0; y < size; y++) {
        const row = Buffer.alloc(1 + size * 3);
        for (let x = 0; x < size; x++) {
            const cross =
                (Math.abs(x - size / 2) < arm && Math.abs(y - size / 2) < arm * 2.5) ||
                (Math.abs(y - size / 2) < arm && Math.abs(x - size / 2) < arm * 2.5);
            const [r, g, b] = cross ? [255, 255, 255] : [200 - Math.round((x + y) / 4), 40 + Math.round(y / 3), 60];
            row.writeUInt8(r, 1 + x * 3);
            row.writeUInt8(g, 2 + x * 3);
            row.writeUInt8(b, 3 + x * 3);
        }
        rows.push(row);
    }
    const header = Buffer.alloc(13);
    header.writeUInt32BE(size, 0);
    header.writeUInt32BE(size, 4);
    header.writeUInt8(8, 8); // bit depth
    header.writeUInt8(2, 9); // colour type RGB
    return Buffer.concat([
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
        pngChunk('IHDR', header),
        pngChunk('IDAT', deflateSync(Buffer.concat(rows))),
        pngChunk('IEND', Buffer.alloc(0)),
    ]);
}

export interface SampleFile {
    name: string;
    contentType: string;
    bytes: Buffer;
}

/** Files served by the sandbox at /samples/<name>, for contact attachments (`"image/png:<url>"`). */
export function sampleFiles(): SampleFile[] {
    return [
        { name: 'rash.png', contentType: 'image/png', bytes: samplePng() },
        {
            name: 'lab-result.txt',
            contentType: 'text/plain; charset=utf-8',
            bytes: Buffer.from('Hemoglobin 13.2 g/dL\nLeukocytes 7,400 /uL\nPlatelets 250,000 /uL\n', 'utf8'),
        },
    ];
}
