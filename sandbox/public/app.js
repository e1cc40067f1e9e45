// Agent page of the RapidPro Bridge sandbox. Plain JS, no build step: polls /sandbox/state and
// posts actions to /sandbox/... (see sandbox/webServer.ts). All text is inserted as text nodes.

const POLL_MS = 1000;
const ui = {
    state: null,
    roomId: null,
    lastRendered: {},
    openRequests: new Set(),
};
// The selected room is kept in the address (#room=<id>), so a reload or a shared link keeps it.
ui.roomId = new URLSearchParams(location.hash.slice(1)).get('room');

function selectRoom(id) {
    ui.roomId = id;
    history.replaceState(null, '', `#room=${encodeURIComponent(id)}`);
    render();
}

const $ = (id) => document.getElementById(id);

/** Creates an element: h('div', { class: 'x', onclick }, 'text', child, ...). */
function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
        if (value === undefined || value === null || value === false) continue;
        if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
        else if (key === 'class') el.className = value;
        else el.setAttribute(key, value === true ? '' : value);
    }
    for (const child of children.flat()) {
        if (child === undefined || child === null || child === false) continue;
        el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
}

function time(iso) {
    return new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

function json(value) {
    return value === undefined ? '' : JSON.stringify(value, null, 2);
}

/** Renders only when the data changed (keeps focus, scroll and open <details>). */
function changed(key, data) {
    const text = JSON.stringify(data);
    if (ui.lastRendered[key] === text) return false;
    ui.lastRendered[key] = text;
    return true;
}

// Outcomes show in a status bar of their own at the bottom of the page (it keeps its height while
// empty), so they never cover a button the way a floating toast did.
let toastTimer;
function toast(text, ok) {
    const el = $('toast');
    el.textContent = text;
    el.className = `statusbar ${ok ? 'ok' : 'bad'}`;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(
        () => {
            el.textContent = '';
            el.className = 'statusbar';
        },
        ok ? 5000 : 9000,
    );
}

function plural(n, one, many = `${one}s`) {
    return `${n} ${n === 1 ? one : many}`;
}

/** Copies text (navigator.clipboard needs a secure context: 127.0.0.1 is one; the textarea is the fallback). */
async function copyText(text) {
    try {
        await navigator.clipboard.writeText(text);
        return true;
    } catch (_error) {
        const area = h('textarea', { readonly: true, style: 'position:fixed;opacity:0' });
        area.value = text;
        document.body.append(area);
        area.select();
        const ok = document.execCommand('copy');
        area.remove();
        return ok;
    }
}

async function post(path, body) {
    const response = await fetch(`/sandbox/${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
    return data;
}

/** Runs an action, reports errors, refreshes the state right away. */
async function act(path, body, okText) {
    try {
        const data = await post(path, body);
        if (okText) toast(typeof okText === 'function' ? okText(data) : okText, true);
        await refresh();
        return data;
    } catch (error) {
        toast(error.message, false);
        return undefined;
    }
}

/** A call to the app's endpoint through the sandbox: shows the app's answer. */
async function endpoint(path, body) {
    const result = await act(`contact/${path}`, body);
    if (result) {
        const status = result.body && typeof result.body === 'object' ? result.body.status : '';
        toast(`${path} → ${result.status} ${status || ''}${result.body?.error ? `: ${result.body.error}` : ''}`, result.status < 300);
        if (path === 'handoff' && result.body && result.body.room_id) selectRoom(result.body.room_id);
        await refresh();
    }
    return result;
}

// ------------------------------------------------------------------ rendering

function renderHeader(s) {
    $('base-url').textContent = `${s.app.apiBaseUrl}/`;
    $('base-url').title = `${s.app.apiBaseUrl}/ (click to copy)`;
    $('secret').textContent = s.app.secret;
    const sim = $('sim-status');
    sim.textContent = s.rapidpro.down ? 'RapidPro DOWN' : 'RapidPro up';
    sim.className = `pill ${s.rapidpro.down ? 'bad' : 'good'}`;
    $('sim-down').textContent = s.rapidpro.down ? 'Bring RapidPro back' : 'Take RapidPro down';
    // Counts what waits in the app's outbox: messages to the contact, and the other calls to RapidPro.
    const outbox = s.outbox;
    const waiting = [
        outbox.messages ? plural(outbox.messages, 'message') : '',
        outbox.otherCalls ? plural(outbox.otherCalls, 'other call') : '',
    ].filter(Boolean);
    const jobs = $('jobs');
    jobs.textContent = waiting.length
        ? `outbox: ${waiting.join(' + ')} waiting${outbox.nextAttemptAt ? ` (next try ${time(outbox.nextAttemptAt)})` : ''}`
        : 'outbox: empty';
    jobs.className = `pill ${waiting.length ? 'warn' : 'muted'}`;
    jobs.title = outbox.items.length
        ? outbox.items.map((i) => `${i.summary} · ${plural(i.attempts, 'attempt')}${i.lastError ? ` · ${i.lastError}` : ''}`).join('\n')
        : 'Nothing waits: RapidPro took every call';
    const errors = [...s.eventErrors, ...s.jobs.errors];
    const el = $('event-errors');
    el.hidden = !errors.length;
    el.textContent = `${errors.length} app error(s)`;
    el.title = errors.join('\n');
    const refused = s.rapidpro.refusedConnections ? ` · ${s.rapidpro.refusedConnections} connection(s) refused while down` : '';
    $('sim-url').textContent = `${s.rapidpro.url} · ${s.rapidpro.sentCount} message(s) sent${refused}`;
}

function renderAgents(s) {
    if (!changed('agents', s.agents)) return;
    $('agents').replaceChildren(
        ...s.agents.map((a) =>
            h(
                'button',
                {
                    type: 'button',
                    class: `agent-chip ${a.online ? 'online' : 'offline'}`,
                    title: `${a.name} · ${a.departments.join(', ')} · click to go ${a.online ? 'offline' : 'online'}`,
                    onclick: () =>
                        act(
                            'agent/online',
                            { username: a.username, online: !a.online },
                            `${a.username} is ${a.online ? 'offline' : 'online'} now`,
                        ),
                },
                h('span', { class: 'dot' }),
                a.username,
                h('small', {}, a.departments.join(', ')),
            ),
        ),
    );
}

/** The last thing the contact or an agent wrote in a room, for the room list. */
function roomPreview(room) {
    const last = [...room.messages].reverse().find((m) => m.kind === 'contact' || m.kind === 'agent');
    if (!last) return '';
    return `${last.kind === 'agent' ? `${last.username}: ` : ''}${last.display || (last.file ? `📎 ${last.file.name}` : '')}`;
}

function renderRooms(s) {
    if (!changed('rooms', [s.rooms.map((r) => [r.id, r.status, r.agent, r.department, r.contactName, roomPreview(r)]), ui.roomId])) return;
    const list = $('rooms');
    if (!s.rooms.length) {
        list.replaceChildren(h('p', { class: 'empty' }, 'No chat yet. Hand a contact over below, or paste the printed curl.'));
        return;
    }
    list.replaceChildren(
        ...s.rooms.map((r) => {
            const preview = roomPreview(r);
            return h(
                'button',
                {
                    type: 'button',
                    class: `room ${r.id === ui.roomId ? 'selected' : ''}`,
                    onclick: () => selectRoom(r.id),
                },
                h('div', { class: 'room-line' }, h('strong', {}, r.contactName), h('span', { class: `badge ${r.status}` }, r.status)),
                h(
                    'div',
                    { class: 'room-line small muted' },
                    h('span', {}, r.department || 'any department'),
                    h('span', {}, r.agent ? `agent ${r.agent}` : r.status === 'queued' ? 'waiting for an agent' : ''),
                ),
                preview ? h('div', { class: 'room-last small' }, preview) : null,
            );
        }),
    );
}

function formatText(text) {
    // The bits of Rocket.Chat markdown the app's notes use: *bold* and _italic_.
    const parts = [];
    const re = /\*([^*\n]+)\*|(^|\s)_([^_\n]+)_(?=\s|$)/g;
    let at = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
        if (m[1] !== undefined) {
            parts.push(text.slice(at, m.index), h('strong', {}, m[1]));
        } else {
            parts.push(text.slice(at, m.index), m[2], h('em', {}, m[3]));
        }
        at = m.index + m[0].length;
    }
    parts.push(text.slice(at));
    return parts;
}

const SYSTEM_TEXT = {
    'livechat-started': () => 'Chat started',
    uj: (m) => `${m.username} joined`,
    ul: (m) => `${m.username} left`,
    'livechat-close': (m) => `Chat closed${m.text ? `: ${m.text}` : ''}`,
    livechat_transfer_history: (m) => {
        const t = m.transfer;
        if (!t) return 'Chat transferred';
        const to = [t.toDepartment ? `department ${t.toDepartment}` : '', t.toAgent ? `agent ${t.toAgent}` : ''].filter(Boolean).join(', ');
        const from = t.fromDepartment && t.toDepartment ? ` (from ${t.fromDepartment})` : '';
        return `${t.by} transferred the chat to ${to || 'another queue'}${from}${t.comment ? `: ${t.comment}` : ''}`;
    },
    command: () => null,
};

/**
 * The app's notes about what reached the contact (src/lib/reach.ts), told apart so they stand out:
 * a reply held after the window, held replies released, a failure RapidPro reported or a reply given up.
 */
function noteKind(m) {
    if (m.kind !== 'app') return null;
    const text = m.text.replace(/^:[a-z_]+:\s*/, ''); // notes to the agent start with :warning:
    if (/^Not sent yet:/.test(text)) return { cls: 'note-held', label: 'held' };
    if (/^The contact wrote again:/.test(text)) return { cls: 'note-released', label: 'sent after hold' };
    if (/reports this message as failed|^Not delivered:|not delivered \(held/.test(text))
        return { cls: 'note-failed', label: 'not delivered' };
    return null;
}

function renderMessage(m, heldTexts) {
    if (m.kind === 'system') {
        const text = (SYSTEM_TEXT[m.systemType] || ((x) => `${x.systemType}${x.text ? `: ${x.text}` : ''}`))(m);
        return text ? h('div', { class: 'msg system' }, `${text} · ${time(m.ts)}`) : null;
    }
    const label = { contact: 'contact', agent: 'agent', app: 'app note' }[m.kind];
    const note = noteKind(m);
    // An agent reply the app still holds (the contact's window closed): it has not reached RapidPro.
    const held = m.kind === 'agent' && heldTexts && heldTexts.has(m.text);
    const file =
        m.file &&
        h(
            'div',
            { class: 'file' },
            m.file.type.startsWith('image/')
                ? h('a', { href: m.file.url, target: '_blank' }, h('img', { src: m.file.url, alt: m.file.name }))
                : null,
            h('a', { href: m.file.url, target: '_blank' }, `📎 ${m.file.name}`),
            h('small', { class: 'muted' }, ` ${m.file.type}`),
        );
    return h(
        'div',
        { class: `msg ${m.kind}${note ? ` ${note.cls}` : ''}${held ? ' held' : ''}` },
        h(
            'div',
            { class: 'msg-meta' },
            h('strong', {}, m.author),
            h('span', { class: 'tag' }, label),
            note ? h('span', { class: `tag ${note.cls}` }, note.label) : null,
            held
                ? h('span', { class: 'tag held', title: 'Held by the app: it goes out when the contact writes again' }, 'held · not sent')
                : null,
            ` ${time(m.ts)}`,
            m.edited ? h('em', {}, ' (edited)') : null,
        ),
        m.display ? h('div', { class: 'msg-text' }, formatText(m.display)) : null,
        file,
    );
}

const WINDOW_MS = 24 * 3600 * 1000;

function ago(ms) {
    const minutes = Math.round(ms / 60000);
    return minutes < 60 ? `${minutes} min` : `${Math.round(minutes / 60)} h`;
}

/** The contact's 24-h window as the app sees it (when they last wrote) and what it holds for this room. */
function renderWindowState(room) {
    const w = room.window;
    if (!w || room.status === 'closed') return null;
    const since = w.lastInboundAt ? Date.now() - new Date(w.lastInboundAt).getTime() : null;
    const closed = w.rapidproClosed || (since !== null && since > WINDOW_MS);
    const parts = [
        closed ? '24-h window closed' : '24-h window open',
        since !== null ? ` (contact last wrote ${ago(since)} ago)` : '',
        w.held.length ? ` · ${plural(w.held.length, 'reply', 'replies')} held, not sent` : '',
    ];
    return h(
        'div',
        {
            id: 'window-state',
            class: `small window-state ${closed || w.held.length ? 'closed' : 'muted'}`,
            title: w.held.length ? `Held: ${w.held.join(' | ')}` : "WhatsApp takes replies within 24 h of the contact's last message",
        },
        parts.join(''),
    );
}

function currentRoom(s) {
    return s.rooms.find((r) => r.id === ui.roomId);
}

function renderChat(s) {
    const room = currentRoom(s);
    const roomChanged = changed('roomId', ui.roomId);
    if (changed('room', room || null)) {
        const header = $('room-header');
        const box = $('messages');
        if (!room) {
            header.replaceChildren(h('span', { class: 'empty' }, 'Select a room'));
            box.replaceChildren();
        } else {
            header.replaceChildren(
                h('div', {}, h('strong', {}, room.contactName), ' ', h('span', { class: `badge ${room.status}` }, room.status)),
                h(
                    'div',
                    { class: 'small muted' },
                    `room ${room.id} · ${room.department || 'any department'} · ${room.agent ? `served by ${room.agent}` : 'not served'}`,
                    room.contactUuid ? ` · contact ${room.contactUuid}` : '',
                    room.closedAt ? ` · closed ${time(room.closedAt)} by ${room.closedBy || room.closer || '?'}` : '',
                ),
                renderWindowState(room),
            );
            const stick = roomChanged || box.scrollHeight - box.scrollTop - box.clientHeight < 80;
            const heldTexts = new Set(room.window.held);
            box.replaceChildren(...room.messages.map((m) => renderMessage(m, heldTexts)).filter(Boolean));
            if (stick) {
                box.scrollTop = box.scrollHeight;
                // Images arrive after the layout: keep the newest message in view once they have.
                for (const img of box.querySelectorAll('img')) {
                    img.addEventListener(
                        'load',
                        () => {
                            box.scrollTop = box.scrollHeight;
                        },
                        { once: true },
                    );
                }
            }
        }
    }
    renderAgentPanel(s, room);
}

function setOptions(select, options, keep = true) {
    const previous = select.value;
    const key = JSON.stringify(options);
    if (select.dataset.key !== key) {
        select.dataset.key = key;
        select.replaceChildren(
            ...options.map((o) =>
                o.group
                    ? h(
                          'optgroup',
                          { label: o.group },
                          o.options.map((x) => h('option', { value: x.value }, x.label)),
                      )
                    : h('option', { value: o.value }, o.label),
            ),
        );
    }
    if (keep && [...select.options].some((o) => o.value === previous)) select.value = previous;
}

function renderAgentPanel(s, room) {
    const agentSelect = $('agent-select');
    setOptions(
        agentSelect,
        s.agents.map((a) => ({ value: a.username, label: `${a.username}${a.online ? '' : ' (offline)'}` })),
    );
    // Follow the room: another room, or this one moved to another agent (a transfer), switches "act as"
    // to whoever serves it now, or to someone who can accept it in its department.
    const served = room ? `${room.id}|${room.status}|${room.agent}|${room.department}` : '';
    if (room && ui.followed !== served) {
        ui.followed = served;
        const inDepartment = s.agents.find((a) => a.online && room.department && a.departments.includes(room.department));
        agentSelect.value = room.agent || (inDepartment || s.agents.find((a) => a.online) || s.agents[0]).username;
    }
    setOptions($('transfer-target'), [
        {
            group: 'Department',
            options: s.departments.map((d) => ({ value: `department:${d.name}`, label: `${d.name}${d.online ? '' : ' (nobody online)'}` })),
        },
        {
            group: 'Agent',
            options: s.agents.map((a) => ({ value: `agent:${a.username}`, label: `${a.username}${a.online ? '' : ' (offline)'}` })),
        },
    ]);
    const status = room ? room.status : 'none';
    $('take').disabled = status !== 'queued';
    for (const el of document.querySelectorAll('#reply-form button, #file-form button, #edit-form button, #transfer, #close')) {
        el.disabled = status !== 'open';
    }
    $('room-note').textContent = {
        none: 'Select a room on the left.',
        queued: 'Queued: accept it to answer (manual routing).',
        open: agentSelect.value === room?.agent ? '' : `Served by ${room?.agent}: act as them to write.`,
        closed: 'This chat is closed.',
    }[status];
    // The contact side follows the selected chat's contact, also when the room showed up (polled) before
    // the sandbox knew whose it is.
    const contactKey = room ? `${room.id}|${room.contactUuid}` : '';
    if (room?.contactUuid && ui.followedContact !== contactKey) {
        ui.followedContact = contactKey;
        $('contact-select').value = room.contactUuid;
    }
}

function renderContactForms(s) {
    const contacts = s.contacts.map((c) => ({ value: c.uuid, label: `${c.name || 'Contact'} · ${c.uuid.slice(0, 8)}` }));
    setOptions($('contact-select'), contacts);
    setOptions($('handoff-contact'), [{ value: '', label: 'New contact' }, ...contacts]);
    const departments = s.departments.map((d) => ({ value: d.name, label: `${d.name}${d.online ? '' : ' (nobody online)'}` }));
    setOptions($('handoff-dept'), [{ value: '', label: 'department: default' }, ...departments]);
    setOptions($('contact-transfer-dept'), departments);
}

function renderCalls(s) {
    if (
        !changed(
            'calls',
            s.endpointCalls.map((c) => c.seq),
        )
    )
        return;
    const box = $('calls');
    if (!s.endpointCalls.length) {
        box.replaceChildren(h('p', { class: 'empty' }, 'No call yet.'));
        return;
    }
    box.replaceChildren(
        ...s.endpointCalls.map((c) => {
            const status = c.response && typeof c.response === 'object' && c.response.status;
            return h(
                'details',
                { class: `call ${c.status < 300 ? 'ok' : 'bad'}` },
                h(
                    'summary',
                    {},
                    h('span', { class: 'muted' }, time(new Date(c.time).toISOString())),
                    ` ${c.method} ${c.path.replace(/^\//, '')} `,
                    h('span', { class: `code ${c.status < 300 ? 'ok' : 'bad'}` }, c.status),
                    status ? ` ${status}` : '',
                    c.curl
                        ? h(
                              'button',
                              {
                                  type: 'button',
                                  class: 'link copy-curl',
                                  title: 'The exact call as a curl command: change the URL to try it on a real server',
                                  onclick: async (event) => {
                                      event.preventDefault(); // a button in <summary> would also open the details
                                      const ok = await copyText(c.curl);
                                      toast(
                                          ok
                                              ? 'curl command copied: paste it in a terminal (change the URL for a real server)'
                                              : 'Could not copy: open the call and select the curl text',
                                          ok,
                                      );
                                  },
                              },
                              'copy as curl',
                          )
                        : null,
                ),
                c.request !== undefined ? h('pre', {}, json(c.request)) : null,
                h('pre', { class: 'response' }, json(c.response)),
                c.curl ? h('pre', { class: 'curl' }, c.curl) : null,
            );
        }),
    );
}

function renderRequests(s) {
    const onlyMessages = $('only-messages').checked;
    const requests = s.rapidpro.requests.filter((r) => !onlyMessages || /messages\.json|broadcasts\.json/.test(r.path));
    if (!changed('requests', [requests.map((r) => [r.seq, r.status, r.message?.status]), onlyMessages])) return;
    const box = $('requests');
    if (!requests.length) {
        box.replaceChildren(h('p', { class: 'empty' }, 'Nothing yet.'));
        return;
    }
    box.replaceChildren(
        ...requests.map((r) => {
            const isMessage = r.method === 'POST' && /messages\.json|broadcasts\.json/.test(r.path);
            const query = Object.keys(r.query || {}).length ? `?${new URLSearchParams(r.query)}` : '';
            const ok = r.status >= 200 && r.status < 300;
            const body = r.body && typeof r.body === 'object' ? r.body : null;
            const details = h('details', { class: 'response' }, h('summary', {}, 'response'), h('pre', {}, json(r.response)));
            if (ui.openRequests.has(r.seq)) details.open = true;
            details.addEventListener('toggle', () => (details.open ? ui.openRequests.add(r.seq) : ui.openRequests.delete(r.seq)));
            return h(
                'div',
                { class: `request ${isMessage ? 'message' : ''} ${ok ? '' : 'failed'}` },
                h(
                    'div',
                    { class: 'request-line' },
                    h('span', { class: 'muted' }, `#${r.seq} ${time(new Date(r.time).toISOString())}`),
                    h('strong', {}, ` ${r.method} `),
                    h('span', { class: 'path' }, `${r.path}${query}`),
                    ' ',
                    h('span', { class: `code ${ok ? 'ok' : 'bad'}` }, r.status || '…'),
                    r.fault ? h('span', { class: 'tag' }, r.fault) : null,
                    r.message
                        ? h(
                              'span',
                              { class: `tag ${r.message.status === 'failed' ? 'failed' : 'queued'}`, title: `message ${r.message.uuid}` },
                              r.message.status,
                          )
                        : null,
                    r.message && r.message.status !== 'failed'
                        ? h(
                              'button',
                              {
                                  type: 'button',
                                  class: 'link mark-failed',
                                  title: 'RapidPro marks this message failed (as WhatsApp refusing it): the watcher reports it',
                                  onclick: () =>
                                      act(
                                          'rapidpro/fail-message',
                                          { uuid: r.message.uuid },
                                          'Marked failed on RapidPro: run the failure watcher, then the agent reads "RapidPro reports this message as failed" in the chat',
                                      ),
                              },
                              'mark failed',
                          )
                        : null,
                ),
                isMessage && body?.text ? h('div', { class: 'sent-text' }, body.text) : null,
                r.body !== undefined ? h('pre', {}, json(r.body)) : null,
                details,
            );
        }),
    );
}

function renderContacts(s) {
    if (changed('contacts', s.rapidpro.contacts)) {
        const fieldKeys = [...new Set(s.rapidpro.contacts.flatMap((c) => Object.keys(c.fields)))];
        $('contacts').replaceChildren(
            s.rapidpro.contacts.length
                ? h(
                      'table',
                      {},
                      h(
                          'thead',
                          {},
                          h(
                              'tr',
                              {},
                              h('th', {}, 'contact'),
                              fieldKeys.map((k) => h('th', {}, k)),
                          ),
                      ),
                      h(
                          'tbody',
                          {},
                          s.rapidpro.contacts.map((c) =>
                              h(
                                  'tr',
                                  {},
                                  h(
                                      'td',
                                      { title: c.uuid },
                                      c.name || c.uuid.slice(0, 8),
                                      h('div', { class: 'small muted' }, c.urns[0] || ''),
                                  ),
                                  fieldKeys.map((k) =>
                                      h('td', { class: c.fields[k] ? '' : 'muted' }, c.fields[k] == null ? '—' : c.fields[k]),
                                  ),
                              ),
                          ),
                      ),
                  )
                : h('p', { class: 'empty' }, 'No contact touched yet.'),
        );
    }
    if (changed('flowStarts', s.rapidpro.flowStarts)) {
        $('flow-starts').replaceChildren(
            ...(s.rapidpro.flowStarts.length
                ? s.rapidpro.flowStarts
                      .slice()
                      .reverse()
                      .map((f) =>
                          h(
                              'div',
                              { class: 'flow-start' },
                              h('div', {}, h('strong', {}, f.flow), ` for ${f.contacts.join(', ')} · ${time(f.created_on)}`),
                              h('pre', {}, json(f.params)),
                          ),
                      )
                : [h('p', { class: 'empty' }, 'None yet (an agent closing a chat starts "Back to the bot").')]),
        );
    }
}

/** The window buttons follow the contact chosen on the contact side; the watcher line shows the harness clock. */
function renderReach(s) {
    const uuid = $('contact-select').value;
    const rooms = s.rooms.filter((r) => r.contactUuid === uuid && r.status !== 'closed');
    const closed = rooms.some((r) => r.window.rapidproClosed);
    $('window-close').disabled = !uuid || closed;
    $('window-open').disabled = !uuid || !closed;
    const pending = s.rapidpro.failNextMessages;
    $('fail-next-message').textContent = pending ? `Fail the next message (${pending} to fail)` : 'Fail the next message';
    const offset = s.clock.offsetMs ? `clock +${ago(s.clock.offsetMs)}` : 'clock: real time';
    $('watcher-note').textContent = s.clock.watcherNextRunAt ? `Next run ${time(s.clock.watcherNextRunAt)} (${offset}).` : '';
}

function render() {
    const s = ui.state;
    if (!s) return;
    if (s.rooms.length && !s.rooms.some((r) => r.id === ui.roomId)) ui.roomId = s.rooms[0].id;
    renderHeader(s);
    renderAgents(s);
    renderRooms(s);
    renderContactForms(s);
    renderChat(s);
    renderCalls(s);
    renderRequests(s);
    renderContacts(s);
    renderReach(s);
}

let refreshing = null;
async function refresh() {
    if (refreshing) return refreshing;
    refreshing = (async () => {
        try {
            const response = await fetch('/sandbox/state', { cache: 'no-store' });
            ui.state = await response.json();
            document.body.classList.remove('offline');
            render();
        } catch (_error) {
            document.body.classList.add('offline');
        } finally {
            refreshing = null;
        }
    })();
    return refreshing;
}

// ------------------------------------------------------------------ actions

const agent = () => $('agent-select').value;

function lastOwnMessage() {
    const room = ui.state && currentRoom(ui.state);
    return room && [...room.messages].reverse().find((m) => m.kind === 'agent' && m.username === agent());
}

$('take').addEventListener('click', () => act('agent/take', { roomId: ui.roomId, agent: agent() }, `${agent()} accepted the chat`));

$('reply-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = $('reply-text').value;
    if (await act('agent/reply', { roomId: ui.roomId, agent: agent(), text })) $('reply-text').value = '';
});
$('reply-text').addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey) {
        event.preventDefault();
        $('reply-form').requestSubmit();
    }
});
$('long-text').addEventListener('click', () => {
    const sentence = 'Please drink plenty of water, rest, and measure your temperature every four hours. ';
    let text = '';
    for (let i = 1; text.length < 5000; i++) text += `${i}. ${sentence}`;
    $('reply-text').value = `${text}:thumbsup:`;
    $('reply-text').focus();
});

$('file-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const file = $('file-input').files[0];
    if (!file) return toast('Choose a file first', false);
    const base64 = await new Promise((resolve, reject) => {
        const reader = new FileReader();
        reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''));
        reader.onerror = () => reject(reader.error);
        reader.readAsDataURL(file);
    });
    const ok = await act(
        'agent/file',
        { roomId: ui.roomId, agent: agent(), filename: file.name, contentType: file.type, base64, text: $('file-caption').value },
        `${file.name} sent`,
    );
    if (ok) {
        $('file-input').value = '';
        $('file-caption').value = '';
    }
});

$('edit-text').addEventListener('focus', () => {
    const last = lastOwnMessage();
    if (!$('edit-text').value && last) $('edit-text').value = last.text;
});
$('edit-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    if (await act('agent/edit', { roomId: ui.roomId, agent: agent(), text: $('edit-text').value }, 'Message edited'))
        $('edit-text').value = '';
});

$('transfer').addEventListener('click', () => {
    const [kind, value] = $('transfer-target').value.split(/:(.*)/);
    act(
        'agent/transfer',
        { roomId: ui.roomId, agent: agent(), [kind === 'agent' ? 'toAgent' : 'department']: value },
        `Transferred to ${value}`,
    );
});
$('close').addEventListener('click', async () => {
    if (await act('agent/close', { roomId: ui.roomId, agent: agent(), comment: $('close-comment').value }, 'Chat closed'))
        $('close-comment').value = '';
});

$('contact-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const samples = [...document.querySelectorAll('input[name=sample]:checked')].map((el) => el.value);
    const result = await endpoint('message', { uuid: $('contact-select').value, text: $('contact-text').value, samples });
    if (result && result.status < 300) {
        $('contact-text').value = '';
        document.querySelectorAll('input[name=sample]').forEach((el) => {
            el.checked = false;
        });
    }
});
$('contact-text').addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey) {
        event.preventDefault();
        $('contact-form').requestSubmit();
    }
});
$('contact-status').addEventListener('click', () => endpoint('status', { uuid: $('contact-select').value }));
$('contact-close').addEventListener('click', () => endpoint('close', { uuid: $('contact-select').value }));
$('contact-transfer').addEventListener('click', () =>
    endpoint('transfer', { uuid: $('contact-select').value, department: $('contact-transfer-dept').value }),
);

$('handoff-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const result = await endpoint('handoff', {
        uuid: $('handoff-contact').value,
        name: $('handoff-name').value,
        department: $('handoff-dept').value,
        language: $('handoff-language').value,
        text: $('handoff-text').value,
        history: $('handoff-history').checked,
    });
    if (result && result.status < 300) {
        $('handoff-name').value = '';
        $('handoff-text').value = '';
    }
});

$('sim-down').addEventListener('click', () => {
    const down = !ui.state.rapidpro.down;
    act('rapidpro/down', { down }, down ? 'RapidPro is down: the bridge keeps the calls and retries' : 'RapidPro is back');
});
for (const button of document.querySelectorAll('[data-fail]')) {
    button.addEventListener('click', () =>
        act('rapidpro/fail', { status: Number(button.dataset.fail) }, `The next RapidPro call answers ${button.dataset.fail}`),
    );
}
$('window-close').addEventListener('click', () =>
    act(
        'contact/window',
        { uuid: $('contact-select').value },
        'Window closed: the contact last wrote 25 h ago. Reply as the agent: the app holds it and notes "Not sent yet" in the chat; RapidPro gets nothing until the contact writes.',
    ),
);
$('window-open').addEventListener('click', () =>
    act(
        'contact/window',
        { uuid: $('contact-select').value, open: true },
        'Window open again: new replies go out. Replies already held wait for the contact to write (that releases them).',
    ),
);
$('fail-next-message').addEventListener('click', () =>
    act(
        'rapidpro/fail-message',
        {},
        'RapidPro takes the next message (201), then marks it failed. Send one, then run the failure watcher: the agent reads "RapidPro reports this message as failed".',
    ),
);
$('run-watcher').addEventListener('click', () =>
    act('clock/watcher', {}, (data) => {
        const watched = data.ran.some((name) => /reach-watch/.test(name));
        return `Clock +${ago(data.advancedMs)}: ${watched ? 'the failure watcher ran' : 'no watcher run was due'}. A message RapidPro marked failed now shows as a red note in its chat.`;
    }),
);
$('only-messages').addEventListener('change', render);
// The header shortens the URL and the secret to keep to one line: a click copies them whole.
for (const el of document.querySelectorAll('.copyable')) {
    el.addEventListener('click', async () => toast((await copyText(el.textContent)) ? `Copied ${el.textContent}` : 'Could not copy', true));
}

refresh();
setInterval(refresh, POLL_MS);
