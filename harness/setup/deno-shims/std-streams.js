// Offline stand-in for jsr:@std/streams (only what the Apps-Engine Deno runtime uses): toArrayBuffer.
export function toArrayBuffer(readableStream) {
	return new Response(readableStream).arrayBuffer();
}
