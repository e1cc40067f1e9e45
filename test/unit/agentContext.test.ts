/**
 * What the agent reads when a room opens: who the contact is and what the bot collected, and the
 * recent bot conversation. RapidPro lists messages newest first; the agent reads them oldest first.
 */
import { formatHandoffSummary, formatTranscript, type TranscriptMessage } from '../../src/lib/agentContext';

describe('formatHandoffSummary', () => {
    const summary = formatHandoffSummary({
        contactName: 'Maria Silva',
        urn: 'whatsapp:5511999998888',
        flowName: 'Triagem',
        results: [
            { key: 'sintoma', name: 'Sintoma', value: 'febre', category: 'Febre' },
            { key: 'idade', name: 'Idade', value: '42', category: 'Adulto' },
            { key: 'resposta', name: 'Resposta', value: 'sim', category: 'sim' },
            { key: 'nota', name: 'Nota', value: 'dor no peito', category: 'All Responses' },
            { key: 'vazio', name: 'Vazio', value: '' },
        ],
        fields: { cpf: '123.456.789-00', plano: 'Básico' },
    });
    const lines = summary.split('\n');
    const lineWith = (text: string) => lines.filter((line) => line.includes(text));

    it('names the contact, their channel and number, and the flow', () => {
        expect(summary).toContain('Maria Silva');
        expect(summary).toMatch(/whatsapp/i);
        expect(summary).toContain('+5511999998888');
        expect(summary).toContain('Triagem');
    });

    it('lists each result with its value and category on its own line', () => {
        expect(lineWith('Sintoma')).toEqual([expect.stringMatching(/febre.*Febre/)]);
        expect(lineWith('Idade')).toEqual([expect.stringMatching(/42.*Adulto/)]);
    });

    it('does not repeat a category equal to the value, nor show the catch-all "All Responses"', () => {
        expect(lineWith('Resposta')).toHaveLength(1);
        expect(lineWith('Resposta')[0].match(/sim/g)).toHaveLength(1);
        expect(summary).not.toContain('All Responses');
        expect(lineWith('Nota')).toEqual([expect.stringContaining('dor no peito')]);
    });

    it('keeps a result with an empty value visible', () => {
        expect(lineWith('Vazio')).toHaveLength(1);
    });

    it('lists the handoff fields', () => {
        expect(lineWith('cpf')).toEqual([expect.stringContaining('123.456.789-00')]);
        expect(lineWith('plano')).toEqual([expect.stringContaining('Básico')]);
    });

    it('stays short for a bare handoff', () => {
        const bare = formatHandoffSummary({ results: [], fields: {} });
        expect(bare.split('\n')).toHaveLength(1);
        expect(bare).not.toMatch(/undefined|null/);
    });
});

describe('formatTranscript', () => {
    // As RapidPro's GET messages.json returns them: newest first.
    const newestFirst: TranscriptMessage[] = [
        { direction: 'in', text: 'Estou com febre', created_on: '2024-05-01T12:03:10.000000Z' },
        { direction: 'out', text: 'O que você está sentindo?', created_on: '2024-05-01T12:02:00.000000Z' },
        {
            direction: 'in',
            text: 'foto',
            created_on: '2024-05-01T12:01:30.000000Z',
            attachments: [{ content_type: 'image/jpeg', url: 'https://rp.example.org/m/1.jpg' }],
        },
        { direction: 'in', text: '', created_on: '2024-05-01T12:01:00.000000Z', attachments: ['audio/ogg:https://rp.example.org/m/2.ogg'] },
        { direction: 'out', text: '   ', created_on: '2024-05-01T12:00:30.000000Z' },
        { direction: 'out', text: 'Olá! Sou o assistente.', created_on: '2024-05-01T12:00:00.000000Z' },
    ];
    const transcript = formatTranscript(newestFirst) || '';
    const order = (needle: string) => transcript.indexOf(needle);

    it('reads oldest first', () => {
        expect(order('Olá! Sou o assistente.')).toBeGreaterThanOrEqual(0);
        expect(order('Olá! Sou o assistente.')).toBeLessThan(order('https://rp.example.org/m/2.ogg'));
        expect(order('https://rp.example.org/m/2.ogg')).toBeLessThan(order('https://rp.example.org/m/1.jpg'));
        expect(order('https://rp.example.org/m/1.jpg')).toBeLessThan(order('O que você está sentindo?'));
        expect(order('O que você está sentindo?')).toBeLessThan(order('Estou com febre'));
    });

    it("tells the contact's messages from the bot's", () => {
        const line = (text: string) => transcript.split('\n').filter((l) => l.includes(text))[0] || '';
        expect(line('Estou com febre')).toMatch(/contact/i);
        expect(line('Olá! Sou o assistente.')).toMatch(/bot/i);
        expect(line('Olá! Sou o assistente.')).not.toMatch(/contact/i);
    });

    it("tells the bridge's own messages (agents' replies, notices: no flow) from the bot's", () => {
        const lines = (
            formatTranscript([
                { direction: 'out', text: 'You are in the queue', flow: null },
                { direction: 'out', text: 'Which symptom?', flow: { uuid: 'f1', name: 'Triage' } },
            ]) || ''
        ).split('\n');
        expect(lines.find((l) => l.includes('You are in the queue'))).toMatch(/^Via the bridge/);
        expect(lines.find((l) => l.includes('Which symptom?'))).toMatch(/^Bot:/);
    });

    it('shows attachment links without RapidPro\'s "type:" prefix', () => {
        expect(transcript).toContain('https://rp.example.org/m/2.ogg');
        expect(transcript).not.toContain('audio/ogg:https');
    });

    it('shows when each message was sent, in UTC', () => {
        expect(transcript).toContain('12:03');
        expect(transcript).toContain('12:00');
        expect(transcript).toMatch(/UTC/);
    });

    it('skips blank messages', () => {
        expect(transcript.split('\n').filter((line) => /^\S.*:\s*$/.test(line))).toEqual([]);
    });

    it('keeps the newest messages when there are more than the limit', () => {
        const many: TranscriptMessage[] = Array.from({ length: 40 }, (_, i) => ({
            direction: i % 2 ? 'out' : 'in',
            text: `message #${40 - i}#`, // index 0 is the newest, #40#
            created_on: new Date(Date.UTC(2024, 4, 1, 12, 40 - i)).toISOString(),
        }));
        const text = formatTranscript(many, 30) || '';
        for (let n = 11; n <= 40; n++) expect(text).toContain(`#${n}#`);
        for (let n = 1; n <= 10; n++) expect(text).not.toContain(`#${n}#`);
        expect(text.indexOf('#11#')).toBeLessThan(text.indexOf('#40#'));
    });

    it('is undefined when there is nothing to show', () => {
        expect(formatTranscript([])).toBeUndefined();
        expect(formatTranscript([{ direction: 'out', text: '  ' }])).toBeUndefined();
    });
});
