// Offline stand-in for jsr:@std/io (only what the Apps-Engine Deno runtime uses): writeAll.
// Copied into node_modules/@rocket.chat/apps-engine/deno-runtime/shims/ by precache-deno.js.
export async function writeAll(writer, data) {
	let written = 0;
	while (written < data.length) {
		written += await writer.write(data.subarray(written));
	}
}
