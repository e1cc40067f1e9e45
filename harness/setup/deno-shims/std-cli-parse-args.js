// Offline stand-in for jsr:@std/cli/parse-args, enough for the runtime's own argv
// (`--subprocess <appId> --spawnId <n> [--metricsReportFrequencyInMs <n>]`).
// Like @std/cli, values that look like numbers become numbers and a bare flag is `true`.
const NUMBER = /^(?:0x[0-9a-f]+|[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?)$/i;

function coerce(value) {
	return NUMBER.test(value) ? Number(value) : value;
}

export function parseArgs(args) {
	const out = { _: [] };
	for (let i = 0; i < args.length; i++) {
		const arg = args[i];
		if (arg === '--') {
			out._.push(...args.slice(i + 1).map(coerce));
			break;
		}
		const m = /^--([^=]+)(?:=(.*))?$/s.exec(arg);
		if (!m) {
			out._.push(coerce(arg));
			continue;
		}
		const [, key, inline] = m;
		if (inline !== undefined) {
			out[key] = coerce(inline);
		} else if (key.startsWith('no-')) {
			out[key.slice(3)] = false;
		} else if (i + 1 < args.length && !args[i + 1].startsWith('-')) {
			out[key] = coerce(args[++i]);
		} else {
			out[key] = true;
		}
	}
	return out;
}
