/** The table of lifecycle stages: what the contact is sent at each stage of the chat. */
import { LIFECYCLE_STAGES, stageDrafts } from '../../src/domain/lifecycleStages';
import { testConfig } from './support/fakes';

const withFields = testConfig({ status_field: 'chat_status', room_field: 'chat_room' });

describe('stageDrafts', () => {
    it('sends the notice, then the status field value of the stage', () => {
        expect(stageDrafts(withFields, 'assigned', { language: 'eng', variables: { agent: 'Alice' } })).toEqual([
            { kind: 'message', text: 'Alice has joined the conversation.', summary: 'the "agent assigned" notice' },
            { kind: 'contact_fields', fields: { chat_status: 'open' }, summary: 'the contact status field' },
        ]);
        const statuses = (Object.keys(LIFECYCLE_STAGES) as Array<keyof typeof LIFECYCLE_STAGES>).map((stage) => [
            stage,
            stageDrafts(withFields, stage, { variables: {}, notify: false }).map((d) => (d.kind === 'contact_fields' ? d.fields : d.kind)),
        ]);
        expect(statuses).toEqual([
            ['queued', [{ chat_status: 'queued' }]],
            ['assigned', [{ chat_status: 'open' }]],
            ['transferred', []],
            ['transferred_to_queue', [{ chat_status: 'queued' }]],
            ['closed', [{ chat_status: 'closed' }]],
        ]);
    });

    it('writes the room field only when asked: set on opening, cleared on close', () => {
        const opening = stageDrafts(withFields, 'queued', { variables: { department: 'Cardiology' }, roomField: 'room-9' });
        expect(opening[0]).toMatchObject({ kind: 'message', summary: 'the "queued" notice' });
        expect(opening[1]).toEqual({
            kind: 'contact_fields',
            fields: { chat_status: 'queued', chat_room: 'room-9' },
            summary: 'the contact fields',
        });
        const closing = stageDrafts(testConfig({ room_field: 'chat_room' }), 'closed', { variables: {}, notify: false, roomField: '' });
        expect(closing).toEqual([{ kind: 'contact_fields', fields: { chat_room: '' }, summary: 'the contact fields' }]);
    });

    it('sends nothing for a notice the admin turned off and no fields configured', () => {
        expect(stageDrafts(testConfig({ notice_closed: '-' }), 'closed', { variables: {} })).toEqual([]);
        expect(stageDrafts(testConfig(), 'transferred', { variables: { department: 'Cardiology' }, language: 'por' })).toEqual([
            { kind: 'message', text: expect.stringContaining('Cardiology'), summary: 'the "transferred" notice' },
        ]);
    });
});
