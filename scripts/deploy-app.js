#!/usr/bin/env node
/**
 * `npm run deploy -- --url https://chat.example.org --username admin --password '...' [--update]`
 * (or `--userid <id> --token <personal access token>`, `--code <2FA code>`).
 * Uploads dist/<nameSlug>_<version>.zip (built by `npm run package` first) through Rocket.Chat's
 * apps API with the upload code of @rocket.chat/apps-cli, the same call `rc-apps deploy` makes.
 */
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { FolderDetails } = require('@rocket.chat/apps-cli/lib/misc/folderDetails');
const { getServerInfo, uploadApp } = require('@rocket.chat/apps-cli/lib/misc/deployHelpers');

const root = path.resolve(__dirname, '..');

function parseFlags(argv) {
    const flags = {};
    for (let i = 0; i < argv.length; i++) {
        const match = /^--?([a-z]+)(?:=(.*))?$/i.exec(argv[i]);
        if (!match) {
            throw new Error(`Unexpected argument ${argv[i]}`);
        }
        const name = { u: 'username', p: 'password', t: 'token', i: 'userid' }[match[1]] || match[1].toLowerCase();
        if (name === 'update') {
            flags.update = true;
        } else {
            flags[name === 'userid' ? 'userId' : name] = match[2] !== undefined ? match[2] : argv[++i];
        }
    }
    return flags;
}

async function main() {
    const flags = parseFlags(process.argv.slice(2));
    if (!flags.url) {
        throw new Error('Usage: npm run deploy -- --url <rocket.chat url> --username <admin> --password <password> [--update]');
    }
    flags.url = flags.url.replace(/\/+$/, '');
    execFileSync(process.execPath, [path.join(__dirname, 'package-app.js')], { cwd: root, stdio: 'inherit' });
    const fd = new FolderDetails(undefined);
    fd.setFolder(root);
    await fd.readInfoFile();
    const zipName = path.join('dist', `${fd.info.nameSlug}_${fd.info.version}.zip`);
    if (!fs.existsSync(path.join(root, zipName))) {
        throw new Error(`${zipName} was not built`);
    }
    const serverInfo = await getServerInfo(fd, flags);
    await uploadApp({ ...serverInfo, update: flags.update }, fd, zipName);
    console.log(`Deployed ${zipName} to ${flags.url}. Grant its permissions and enable it in Administration > Apps.`);
}

main().catch((error) => {
    console.error(error?.message ? error.message : error);
    process.exit(1);
});
