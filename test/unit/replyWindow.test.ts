/**
 * The customer-care window without the engine: when an agent reply looks for held replies (a read
 * per reply on WhatsApp would double the reply's cost), and that a held reply is never stranded.
 */
import type { RocketChatAssociationRecord } from '@rocket.chat/apps-engine/definition/metadata';

import { type Conversation, ConversationStore } from '../../src/domain/ConversationStore';
import { HeldReplies } from '../../src/domain/HeldReplies';
import { KeyedMutex } from '../../src/domain/KeyedMutex';
import { ReplyWindow } from '../../src/domain/ReplyWindow';
import { Keys } from '../../src/domain/records';
import { deliveryContext, outboxFixture, testConfig } from './support/fakes';

const CONTACT = '5d76d86b-3bb9-4d5a-b822-c9d86f5d8e4b';
const ROOM = 'room-1';
const HOUR = 3600 * 1000;

async function setup(chat: Partial<Conversation>) {
    const t = outboxFixture();
    const window = new ReplyWindow(t.instance(), t.notifier, new KeyedMutex(), t.logger, t.clock.now);
    const ctx = () => deliveryContext(t.persistence, t.rapidPro, t.scheduler, testConfig({ window_hours: 24, window_schemes: 'whatsapp' }));
    const store = new ConversationStore(t.persistence, t.persistence);
    const conversation: Conversation = {
        contactUuid: CONTACT,
        roomId: ROOM,
        visitorToken: 'token',
        openedAt: t.clock.value - 30 * HOUR,
        urnScheme: 'whatsapp',
        ...chat,
    };
    await store.create(conversation, conversation.openedAt);
    const heldReads: string[] = [];
    const read = t.persistence.readByAssociation.bind(t.persistence);
    t.persistence.readByAssociation = (key: RocketChatAssociationRecord) => {
        if (key.getID() === Keys.contactHeld(CONTACT).getID()) {
            heldReads.push(key.getID());
        }
        return read(key);
    };
    const reply = async (text: string) => {
        const current = (await store.findByRoom(ROOM)) as Conversation;
        return window.sendOrHold(ctx(), current, [{ kind: 'message', text, summary: text }], { text }, { sendNow: true });
    };
    return { ...t, window, ctx, store, reply, heldReads };
}

describe('ReplyWindow', () => {
    it('reads no held replies for a reply in an open window when none was held', async () => {
        const t = await setup({ lastInboundAt: Date.now() - HOUR });
        t.clock.value = Date.now();
        expect(await t.reply('hello')).toBe('sent');
        expect(t.rapidPro.texts()).toEqual(['hello']);
        expect(t.heldReads).toEqual([]);
    });

    it('marks the chat when a reply is held, and sends it before the next reply once the contact wrote', async () => {
        const t = await setup({ lastInboundAt: Date.now() - 25 * HOUR });
        t.clock.value = Date.now();
        expect(await t.reply('after the window')).toBe('held');
        expect(t.rapidPro.texts()).toEqual([]);
        expect((await t.store.findByRoom(ROOM))?.heldAt).toBe(t.clock.value);

        t.clock.value += 1000;
        await t.window.contactWrote(t.ctx(), ROOM, 'whatsapp');
        expect(await t.reply('next one')).toBe('sent');
        expect(t.rapidPro.texts()).toEqual(['after the window', 'next one']);
    });

    it('still finds a reply held on another instance just as the contact wrote (its release missed it)', async () => {
        const now = Date.now();
        // The contact wrote at `now`; another instance held a reply a moment before and marked the chat.
        const t = await setup({ lastInboundAt: now, heldAt: now - 2000 });
        t.clock.value = now + 1000;
        await new HeldReplies(t.clock.now).hold(t.persistence, {
            contactUuid: CONTACT,
            roomId: ROOM,
            drafts: [{ kind: 'message', text: 'held elsewhere', summary: 'held' }],
            text: 'held elsewhere',
        });
        expect(await t.reply('newer')).toBe('sent');
        expect(t.heldReads).toHaveLength(1);
        expect(t.rapidPro.texts()).toEqual(['held elsewhere', 'newer']);
        expect(t.persistence.dataWith(Keys.contactHeld(CONTACT).getID())).toEqual([]);
    });
});
