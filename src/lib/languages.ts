/** Locales that have built-in notice texts. */
export type NoticeLocale = 'en' | 'pt-BR' | 'es' | 'fr';

/**
 * RapidPro stores a contact's language as ISO-639-3 (`eng`, `por`, `spa`); flow designers also write
 * ISO-639-1 or BCP-47 tags. Anything unknown falls back to the given default.
 */
const LOCALE_BY_CODE: Record<string, NoticeLocale> = {
    eng: 'en',
    en: 'en',
    por: 'pt-BR',
    pt: 'pt-BR',
    'pt-br': 'pt-BR',
    'pt-pt': 'pt-BR',
    spa: 'es',
    es: 'es',
    fra: 'fr',
    fre: 'fr',
    fr: 'fr',
};

/** The built-in locale for a language code, or undefined when the code is not one we have texts for. */
export function recognizeLocale(language: string | null | undefined): NoticeLocale | undefined {
    if (!language) {
        return undefined;
    }
    const code = language.trim().toLowerCase().replace('_', '-');
    return LOCALE_BY_CODE[code] || LOCALE_BY_CODE[code.split('-')[0]];
}

export function toNoticeLocale(language: string | null | undefined, fallback: NoticeLocale = 'en'): NoticeLocale {
    return recognizeLocale(language) || fallback;
}
