/** The phone number in a RapidPro URN (`tel:+5511...`, `whatsapp:5511...`), or undefined. */
export function phoneFromUrn(urn: string | undefined): string | undefined {
    if (!urn) {
        return undefined;
    }
    const match = /^(tel|whatsapp|viber|wa):\+?([0-9]{5,16})(?:[?#].*)?$/i.exec(urn.trim());
    return match ? `+${match[2]}` : undefined;
}

/** `whatsapp:5511...` → `WhatsApp +5511...`; other schemes as they are. */
export function describeUrn(urn: string | undefined): string | undefined {
    if (!urn) {
        return undefined;
    }
    const phone = phoneFromUrn(urn);
    const scheme = urn.split(':')[0].toLowerCase();
    const names: Record<string, string> = {
        tel: 'Phone',
        whatsapp: 'WhatsApp',
        telegram: 'Telegram',
        facebook: 'Facebook',
        viber: 'Viber',
        instagram: 'Instagram',
        ext: 'External',
    };
    const label = names[scheme] || scheme;
    return phone ? `${label} ${phone}` : `${label} ${urn.substring(scheme.length + 1)}`;
}
