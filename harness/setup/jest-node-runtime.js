// jest setupFiles of the `integration-node` project: every EngineHost of the test file starts the app
// in the Node runtime (harness/engine/nodeRuntime.ts), as Rocket.Chat 8.8+ does by default.
// jest gives each test file its own copy of process.env, so other projects keep Deno.
process.env.APPS_ENGINE_RUNTIME_BACKEND = 'node';
