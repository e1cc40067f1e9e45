import { type NoticeLocale, recognizeLocale, toNoticeLocale } from './languages';

export type NoticeKind = 'queued' | 'assigned' | 'transferred' | 'closed';

type NoticeTexts = Record<NoticeKind, string> & { correction: string };

/** Built-in texts sent to the contact, by the contact's language. */
const BUILT_IN: Record<NoticeLocale, NoticeTexts> = {
    en: {
        queued: 'Thank you. You are in the queue; an agent will be with you shortly.',
        assigned: '{agent} has joined the conversation.',
        transferred: 'Your conversation has been transferred to {department}. Please wait a moment.',
        closed: 'The conversation with our team has ended. Thank you for writing to us.',
        correction: 'Correction:',
    },
    'pt-BR': {
        queued: 'Obrigado. Você está na fila; um atendente falará com você em breve.',
        assigned: '{agent} entrou na conversa.',
        transferred: 'Sua conversa foi transferida para {department}. Aguarde um momento, por favor.',
        closed: 'A conversa com a nossa equipe foi encerrada. Obrigado por nos escrever.',
        correction: 'Correção:',
    },
    es: {
        queued: 'Gracias. Está en la cola; un agente le atenderá en breve.',
        assigned: '{agent} se ha unido a la conversación.',
        transferred: 'Su conversación ha sido transferida a {department}. Espere un momento, por favor.',
        closed: 'La conversación con nuestro equipo ha terminado. Gracias por escribirnos.',
        correction: 'Corrección:',
    },
    fr: {
        queued: "Merci. Vous êtes dans la file d'attente ; un agent va vous répondre sous peu.",
        assigned: '{agent} a rejoint la conversation.',
        transferred: 'Votre conversation a été transférée à {department}. Merci de patienter.',
        closed: 'La conversation avec notre équipe est terminée. Merci de nous avoir écrit.',
        correction: 'Correction :',
    },
};

/** The admin turns a notice off by setting its text to one of these. */
const OFF_VALUES = ['-', 'off', 'none', 'disabled'];

export interface NoticeVariables {
    agent?: string;
    department?: string;
}

export function fillTemplate(template: string, variables: NoticeVariables): string {
    return template
        .replace(/\{(agent|department)\}/g, (match: string, key: 'agent' | 'department') => {
            const value = variables[key];
            return value === undefined || value === null ? match : value;
        })
        .replace(/\{(agent|department)\}/g, '')
        .replace(/[ \t]{2,}/g, ' ')
        .trim();
}

/**
 * The admin's override is either one text for every language, or a JSON object keyed by language
 * code (`{"eng": "...", "por": "..."}`), falling back to the built-in text for languages it omits.
 */
function overrideFor(override: string, locale: NoticeLocale): string | undefined {
    const trimmed = override.trim();
    if (!trimmed) {
        return undefined;
    }
    if (trimmed.charAt(0) === '{') {
        try {
            const byLanguage = JSON.parse(trimmed) as Record<string, unknown>;
            for (const code of Object.keys(byLanguage)) {
                const value = byLanguage[code];
                if (typeof value === 'string' && recognizeLocale(code) === locale) {
                    return value;
                }
            }
            return undefined;
        } catch (_e) {
            return trimmed; // not JSON after all: a text that starts with a brace
        }
    }
    return trimmed;
}

/** The notice text for the contact, or null when the admin turned this notice off. */
export function renderNotice(
    kind: NoticeKind,
    language: string | null | undefined,
    override: string,
    variables: NoticeVariables,
    defaultLanguage?: string,
): string | null {
    if (OFF_VALUES.indexOf(override.trim().toLowerCase()) >= 0) {
        return null;
    }
    const locale = toNoticeLocale(language, toNoticeLocale(defaultLanguage));
    const custom = overrideFor(override, locale);
    return fillTemplate(custom !== undefined ? custom : BUILT_IN[locale][kind], variables);
}

export function correctionPrefix(language: string | null | undefined, defaultLanguage?: string): string {
    return BUILT_IN[toNoticeLocale(language, toNoticeLocale(defaultLanguage))].correction;
}
