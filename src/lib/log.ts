/**
 * The bridge's logger. Levels: debug for traffic, info for the chat lifecycle, warn for retries and
 * refusals the bridge recovers from, error for what an admin must act on. Never log a secret, a
 * message text or a URL: only ids, counts, codes and reasons.
 */
export interface Logger {
    debug(message: string): void;
    info(message: string): void;
    warn(message: string): void;
    error(message: string): void;
}

/** What the engine's ILogger offers (kept structural so this module stays free of the engine). */
export interface LevelledSink {
    debug(...items: unknown[]): void;
    info(...items: unknown[]): void;
    warn(...items: unknown[]): void;
    error(...items: unknown[]): void;
}

const URL_PATTERN = /\b[a-z][a-z0-9+.-]*:\/\/[^\s)'"<>]+/gi;

/** Error texts may quote a URL (signed media links, the RapidPro host): logs get a placeholder instead. */
export function withoutUrls(text: string): string {
    return text.replace(URL_PATTERN, '<url>');
}

export function errorText(error: unknown): string {
    return error instanceof Error ? error.message : String(error);
}

/** A Logger writing to the app's logger, looked up at each call (the engine hands out one per call). */
export function loggerOf(sink: () => LevelledSink): Logger {
    return {
        debug: (message) => sink().debug(withoutUrls(message)),
        info: (message) => sink().info(withoutUrls(message)),
        warn: (message) => sink().warn(withoutUrls(message)),
        error: (message) => sink().error(withoutUrls(message)),
    };
}
