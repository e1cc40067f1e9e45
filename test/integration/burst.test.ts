/**
 * Agents of many rooms typing back to back, without waiting for the app (Rocket.Chat does not wait
 * for app events): every reply reaches RapidPro once, in each room's order, on one instance.
 */
import { type BridgeRig, startBridge } from './support/rig';

describe('a burst of agent replies in many rooms at once', () => {
    let rig: BridgeRig;

    beforeAll(async () => {
        rig = await startBridge();
    });

    afterAll(async () => {
        await rig?.stop();
    });

    it('delivers 20 rooms x 10 back-to-back replies once each, in order', async () => {
        const chats = [];
        for (let i = 0; i < 20; i++) {
            chats.push(await rig.openChat());
        }
        await rig.flush();
        const typed: Promise<unknown>[] = [];
        for (let m = 0; m < 10; m++) {
            for (const [index, chat] of chats.entries()) {
                typed.push(rig.host.rc.agentSendMessage(chat.roomId, 'alice', `burst ${index} ${m}`));
            }
        }
        await Promise.all(typed);
        await rig.flush();
        for (const [index, chat] of chats.entries()) {
            const received = rig.sim.sent.filter((sent) => sent.contact === chat.contact.uuid && /^burst /.test(String(sent.text)));
            // Replies that waited behind others may go as one message, a blank line between them (coalesce_backlog).
            const replies = received.flatMap((sent) => String(sent.text).split('\n\n'));
            expect(replies).toEqual(Array.from({ length: 10 }, (_, m) => `burst ${index} ${m}`));
        }
    }, 120000);
});
