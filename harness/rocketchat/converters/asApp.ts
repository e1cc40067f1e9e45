/**
 * Hands an object built like Rocket.Chat's converters build it over as the Apps-Engine type it stands for.
 * The declarations are stricter than what Rocket.Chat passes at runtime (IUpload.size is declared a string,
 * Rocket.Chat passes a number; a message sender lookup has no emails; IDepartment.requestTagBeforeClosingChat
 * is declared `false`; visitors may have no name), and the emulation reproduces the runtime shape.
 */
export function asApp<T>(value: object): T {
    return value as unknown as T;
}
