/** curl command lines for calls to the app's endpoints: printed by `npm start`, copied from the page. */

export function shellQuote(text: string): string {
    return `'${text.replace(/'/g, `'\\''`)}'`;
}

export interface CurlCall {
    method: string;
    url: string;
    /** The Authorization header as sent (`Token <secret>`); left out when the call had none. */
    authorization?: string;
    contentType?: string;
    /** The body exactly as sent. */
    body?: string;
}

/** One argument per line, so the URL is easy to find and change. */
export function curlCommand(call: CurlCall): string {
    const method = call.method.toUpperCase();
    const parts = [`curl -sS${method === 'GET' ? '' : ` -X ${method}`} ${shellQuote(call.url)}`];
    if (call.authorization !== undefined) {
        parts.push(`  -H ${shellQuote(`Authorization: ${call.authorization}`)}`);
    }
    if (call.body !== undefined) {
        parts.push(`  -H ${shellQuote(`Content-Type: ${call.contentType ?? 'application/json'}`)}`);
        parts.push(`  --data-binary ${shellQuote(call.body)}`);
    }
    return parts.join(' \\\n');
}
