/**
 * Which Rocket.Chat messages go to the contact: only what an agent writes (text or file) in a
 * livechat room this app opened. Never system messages, the visitor's own messages, messages of
 * apps (this one included), rooms of another app or source, or non-livechat rooms.
 */
import type { IMessage } from '@rocket.chat/apps-engine/definition/messages';

import { filesOf, whyNotForwarded } from '../../src/outbound/agentMessageFilter';

const APP_ID = 'a7c1e2b4-rapidpro-bridge';
const VISITOR = { id: 'visitor-1', token: 'contact-token', username: 'guest-1', name: 'Maria Silva' };
const AGENT = { id: 'agent-1', username: 'dra.ana', name: 'Dra. Ana', type: 'user' };

function room(overrides: Record<string, unknown> = {}) {
    return { id: 'room-1', type: 'l', visitor: VISITOR, isOpen: true, source: { type: 'app', id: APP_ID }, ...overrides };
}

function message(overrides: Record<string, unknown> = {}): IMessage {
    return { id: 'msg-1', room: room(), sender: AGENT, text: 'Bom dia, Maria!', ...overrides } as unknown as IMessage;
}

const forwarded = (m: IMessage) => whyNotForwarded(m, APP_ID) === undefined;

describe('whyNotForwarded', () => {
    it("forwards an agent's text in a room this app opened", () => {
        expect(forwarded(message())).toBe(true);
    });

    it("forwards an agent's file without text", () => {
        expect(forwarded(message({ text: '', file: { _id: 'f1', name: 'laudo.pdf', type: 'application/pdf' } }))).toBe(true);
        expect(forwarded(message({ text: undefined, files: [{ _id: 'f1', name: 'raio-x.png', type: 'image/png' }] }))).toBe(true);
    });

    it.each(['uj', 'ul', 'livechat-close', 'livechat-started', 'livechat_transfer_history', 'command', 'au'])(
        'never forwards a system message of type %p',
        (type) => {
            expect(forwarded(message({ type, text: 'system text' }))).toBe(false);
        },
    );

    it('never forwards a system message that older servers report only in _unmappedProperties_.t', () => {
        expect(forwarded(message({ _unmappedProperties_: { t: 'livechat-close' }, text: 'Conversation closed' }))).toBe(false);
    });

    it("never forwards the visitor's own messages back to them", () => {
        expect(forwarded(message({ sender: { id: VISITOR.id, username: VISITOR.username, type: 'user' } }))).toBe(false);
        expect(forwarded(message({ token: VISITOR.token, sender: { id: 'x', username: 'guest-1' } }))).toBe(false);
    });

    it('never forwards messages of apps, this one included', () => {
        expect(forwarded(message({ sender: { id: 'app-user', username: 'rapidpro-bridge.bot', type: 'app' } }))).toBe(false);
    });

    it('never forwards in a room another app opened', () => {
        expect(forwarded(message({ room: room({ source: { type: 'app', id: 'another-app' } }) }))).toBe(false);
    });

    it.each(['widget', 'email', 'sms', 'api', 'other'])('never forwards in a room opened by the %s source', (type) => {
        expect(forwarded(message({ room: room({ source: { type } }) }))).toBe(false);
    });

    it.each(['c', 'p', 'd'])('never forwards in a non-livechat room (type %p)', (type) => {
        expect(forwarded(message({ room: room({ type }) }))).toBe(false);
    });

    it('does not forward an empty message', () => {
        expect(forwarded(message({ text: '   ' }))).toBe(false);
    });
});

describe('filesOf', () => {
    it('lists the files of a message in order (new servers: files)', () => {
        const files = filesOf(
            message({
                files: [
                    { _id: 'f1', name: 'raio-x.png', type: 'image/png' },
                    { _id: 'f2', name: 'laudo.pdf', type: 'application/pdf' },
                ],
            }),
        );
        expect(files).toEqual([
            { id: 'f1', name: 'raio-x.png', type: 'image/png' },
            { id: 'f2', name: 'laudo.pdf', type: 'application/pdf' },
        ]);
    });

    it('reads the single file of older servers', () => {
        expect(filesOf(message({ file: { _id: 'f9', name: 'audio.ogg', type: 'audio/ogg' } }))).toEqual([
            { id: 'f9', name: 'audio.ogg', type: 'audio/ogg' },
        ]);
    });

    it('has no files for a text message, and skips entries without an id', () => {
        expect(filesOf(message())).toEqual([]);
        expect(filesOf(message({ files: [{ name: 'ghost.png' }] }))).toEqual([]);
    });
});
