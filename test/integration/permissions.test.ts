import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { startFileServer } from './support/fileServer';
import { type BridgeRig, startBridge } from './support/rig';

const APP_JSON = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'app.json'), 'utf8')) as {
    permissions: Array<{ name: string }>;
};
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(512, 1)]);

/**
 * app.json asks for exactly the permissions the app uses: with all of them a whole conversation
 * runs without a single denial, and without any one of them the engine refuses something.
 */
describe('app.json permissions: no more, no less', () => {
    let files: Awaited<ReturnType<typeof startFileServer>>;

    beforeAll(async () => {
        files = await startFileServer({ '/photo.png': { contentType: 'image/png', body: PNG } });
    });

    afterAll(async () => {
        await files?.close();
    });

    /** Every feature once: handoff with fields and history, /rapidpro, messages both ways with files, edit, transfer, close. */
    async function wholeConversation(rig: BridgeRig): Promise<void> {
        const contact = rig.newContact();
        rig.sim.seedMessages(contact.uuid, [{ direction: 'in', text: 'hello bot' }]);
        const handoff = await rig.call(
            'handoff',
            rig.defaultBody(contact, { fields: { clinic: 'North' }, history: true, text: 'first words' }),
        );
        const roomId = handoff.body.room_id;
        await rig.call('message', { contact: { uuid: contact.uuid }, text: 'a photo', attachments: [`image/png:${files.url}/photo.png`] });
        await rig.call('departments');
        await rig.call('health');
        await rig.call(`status?contact=${contact.uuid}`);
        await rig.host.executeSlashCommand('admin', rig.host.rc.createChannel('general', ['admin'])._id, '/rapidpro');
        if (roomId) {
            await rig.host.rc.takeRoom(roomId, 'alice');
            const sent = await rig.host.rc.agentSendMessage(roomId, 'alice', 'hello :smile:');
            await rig.host.rc.agentSendFile(roomId, 'alice', { filename: 'scan.png', contentType: 'image/png', buffer: PNG });
            await rig.host.rc.agentSendFile(roomId, 'alice', {
                filename: 'notes.txt',
                contentType: 'text/plain',
                buffer: Buffer.from('x'),
            });
            await rig.host.rc.agentEditMessage(sent._id, 'hello again');
            await rig.call('transfer', rig.defaultBody(contact, { department: 'Cardiology' }));
            await rig.call('close', rig.defaultBody(contact));
            await rig.call('handoff', rig.defaultBody(contact)); // the same contact again: the visitor is looked up
        }
        await rig.flush();
    }

    it('with every permission of app.json, a whole conversation causes no permission denial', async () => {
        const rig = await startBridge({ settings: { status_field: 'bridge_status', close_flow_uuid: '' } });
        try {
            await wholeConversation(rig);
            expect(rig.host.permissionDenials).toEqual([]);
            expect(rig.sim.sent.length).toBeGreaterThan(2);
        } finally {
            await rig.stop();
        }
    });

    it.each(APP_JSON.permissions.map((p) => p.name))('without "%s" the engine refuses something the app does', async (missing) => {
        const granted = APP_JSON.permissions.filter((p) => p.name !== missing);
        let rig: BridgeRig | undefined;
        try {
            rig = await startBridge({ host: { permissionsGranted: granted } });
            await wholeConversation(rig);
            expect(rig.host.permissionDenials.some((denial) => denial.missing.indexOf(missing) >= 0)).toBe(true);
        } catch (error) {
            // Without some permissions (api, scheduler, persistence) the app cannot even start its
            // endpoints or jobs: that counts as refused too, as long as it is about this permission.
            if (rig?.host.permissionDenials.some((denial) => denial.missing.indexOf(missing) >= 0)) {
                return;
            }
            throw error;
        } finally {
            await rig?.stop();
        }
    });
});
