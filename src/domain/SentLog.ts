import type { IPersistence, IPersistenceRead } from '@rocket.chat/apps-engine/definition/accessors';

import { associationsOf, isRecordOf, Keys, RecordKind } from './records';

/** One part RapidPro accepted (201), kept while RapidPro may still report it failed. */
export interface SentLogEntry {
    record: typeof RecordKind.SentLogEntry;
    /** RapidPro's message uuid; `broadcast:<id>` for a part sent with broadcasts.json. */
    key: string;
    contactUuid: string;
    roomId?: string;
    /** The start of what was sent, to quote to the agent. */
    textStart: string;
    sentAt: number;
    /** Set once the failure was reported in the room (before the note is posted). */
    reportedAt?: number;
}

const isEntry = isRecordOf<SentLogEntry>(RecordKind.SentLogEntry);

/** Longest text start kept per entry: enough for a one-line quote. */
const TEXT_START_CHARS = 100;

export function sentLogKey(body: unknown, viaBroadcast: boolean): string | undefined {
    if (!body || typeof body !== 'object') {
        return undefined;
    }
    const record = body as { uuid?: unknown; id?: unknown };
    if (viaBroadcast) {
        // A failed message names its broadcast by id, not by the broadcast's uuid.
        return typeof record.id === 'number' ? `broadcast:${record.id}` : undefined;
    }
    return typeof record.uuid === 'string' && record.uuid ? record.uuid : undefined;
}

/** The sent log in app persistence: one small record per part, found all together or by key. */
export class SentLog {
    async record(
        persis: IPersistence,
        entry: { key: string; contactUuid: string; roomId?: string; text?: string; sentAt: number },
    ): Promise<void> {
        const record: SentLogEntry = {
            record: RecordKind.SentLogEntry,
            key: entry.key,
            contactUuid: entry.contactUuid,
            roomId: entry.roomId,
            textStart: Array.from(entry.text || '')
                .slice(0, TEXT_START_CHARS)
                .join(''),
            sentAt: entry.sentAt,
        };
        await persis.updateByAssociations(associationsOf.sentLogEntry(entry.key), record, true);
    }

    async all(reader: IPersistenceRead): Promise<SentLogEntry[]> {
        return (await reader.readByAssociation(Keys.sentLog())).filter(isEntry);
    }

    async byKey(reader: IPersistenceRead, key: string): Promise<SentLogEntry | undefined> {
        return (await reader.readByAssociation(Keys.sentLogEntry(key))).filter(isEntry)[0];
    }

    async markReported(persis: IPersistence, entry: SentLogEntry, at: number): Promise<void> {
        await persis.updateByAssociations(associationsOf.sentLogEntry(entry.key), { ...entry, reportedAt: at });
    }

    async remove(persis: IPersistence, entry: SentLogEntry): Promise<void> {
        await persis.removeByAssociations(associationsOf.sentLogEntry(entry.key));
    }
}
