/**
 * What an agent wrote becomes the ordered RapidPro calls: emoji shortcodes as unicode, long text in
 * ordered parts within the max length, files as attachment messages, edits marked as corrections.
 */
import type { AgentFile, OutboundDraft } from '../../src/domain/DeliveryQueue';
import { agentMessageDrafts } from '../../src/outbound/agentDrafts';

type MessageDraft = Extract<OutboundDraft, { kind: 'message' }>;

const cp = (text: string) => Array.from(text).length;
const messages = (drafts: OutboundDraft[]): MessageDraft[] => {
    drafts.forEach((draft) => {
        expect(draft.kind).toBe('message');
    });
    return drafts as MessageDraft[];
};
const texts = (drafts: OutboundDraft[]) =>
    messages(drafts)
        .filter((d) => d.text !== undefined)
        .map((d) => d.text as string);

const XRAY: AgentFile = { uploadId: 'up-1', name: 'raio-x.png', contentType: 'image/png', size: 2048 };
const REPORT: AgentFile = { uploadId: 'up-2', name: 'laudo.pdf', contentType: 'application/pdf', size: 4096 };

describe('agentMessageDrafts', () => {
    it('sends a short text as one message, with emoji shortcodes as unicode', () => {
        const drafts = messages(agentMessageDrafts('Bom dia :smile: :thumbsup:', [], 4096));
        expect(drafts).toHaveLength(1);
        expect(drafts[0].text).toBe(`Bom dia ${String.fromCodePoint(0x1f604)} ${String.fromCodePoint(0x1f44d)}`);
        expect(drafts[0].file).toBeUndefined();
        expect(drafts[0].summary.length).toBeGreaterThan(0);
    });

    it('splits a long text into ordered parts within the max length', () => {
        const words = Array.from({ length: 400 }, (_, i) => `palavra${i}`);
        const text = words.join(' ');
        const parts = texts(agentMessageDrafts(text, [], 640));
        expect(parts.length).toBeGreaterThan(1);
        parts.forEach((part) => {
            expect(cp(part)).toBeLessThanOrEqual(640);
        });
        expect(parts.join(' ').split(/\s+/)).toEqual(words);
    });

    it('tells the parts apart in the summaries shown to the agent if one fails', () => {
        const drafts = messages(agentMessageDrafts('word '.repeat(400), [], 640));
        expect(new Set(drafts.map((d) => d.summary)).size).toBe(drafts.length);
    });

    it('converts emoji before measuring, so the limit applies to what RapidPro receives', () => {
        // 20 × ":smile: " is 160 characters as typed but 39 code points once converted.
        const drafts = messages(agentMessageDrafts(':smile: '.repeat(20), [], 40));
        expect(drafts).toHaveLength(1);
        expect(drafts[0].text).toBe(Array(20).fill(String.fromCodePoint(0x1f604)).join(' '));
    });

    it('sends each file once, after the text, in order', () => {
        const drafts = messages(agentMessageDrafts('Seguem os exames', [XRAY, REPORT], 4096));
        const files = drafts.filter((d) => d.file).map((d) => d.file);
        expect(files).toEqual([XRAY, REPORT]);
        expect(texts(drafts)).toEqual(['Seguem os exames']);
        const firstText = drafts.findIndex((d) => d.text);
        const firstFile = drafts.findIndex((d) => d.file);
        expect(firstText).toBeLessThanOrEqual(firstFile);
    });

    it('sends files alone when there is no text', () => {
        const drafts = messages(agentMessageDrafts('', [XRAY, REPORT], 4096));
        expect(drafts.map((d) => d.file)).toEqual([XRAY, REPORT]);
        expect(texts(drafts).filter((t) => t.trim())).toEqual([]);
        expect(drafts[0].summary).toContain(XRAY.name);
        expect(drafts[1].summary).toContain(REPORT.name);
    });

    it('puts the files after every part of a long text', () => {
        const drafts = messages(agentMessageDrafts('word '.repeat(400), [XRAY], 640));
        const lastText = drafts.map((d) => !!d.text).lastIndexOf(true);
        const fileIndex = drafts.findIndex((d) => d.file);
        expect(fileIndex).toBeGreaterThanOrEqual(lastText);
        expect(drafts.filter((d) => d.file)).toHaveLength(1);
    });

    it('sends nothing for a blank message without files', () => {
        expect(agentMessageDrafts('   \n ', [], 4096)).toEqual([]);
        expect(agentMessageDrafts(undefined, [], 4096)).toEqual([]);
    });

    it('marks a correction with the prefix, once, at the start', () => {
        const drafts = messages(agentMessageDrafts('Tome 1 comprimido, não 2 :pray:', [], 4096, 'Correção:'));
        expect(drafts).toHaveLength(1);
        expect(drafts[0].text).toBe(`Correção: Tome 1 comprimido, não 2 ${String.fromCodePoint(0x1f64f)}`);
    });

    it('keeps a long correction within the limit, prefixed only on its first part', () => {
        const parts = texts(agentMessageDrafts('dose '.repeat(300), [], 640, 'Correction:'));
        expect(parts.length).toBeGreaterThan(1);
        parts.forEach((part) => {
            expect(cp(part)).toBeLessThanOrEqual(640);
        });
        expect(parts[0].startsWith('Correction: dose')).toBe(true);
        parts.slice(1).forEach((part) => {
            expect(part).not.toContain('Correction:');
        });
    });
});
