/**
 * The size limits, time budgets and timeouts the bridge keeps, each defined here once.
 *
 * Rocket.Chat gives every endpoint, event and job call 30 s; RapidPro waits 15 s for a webhook.
 */

/** Largest file either way: RapidPro's media.json takes up to 25 MB (temba/msgs/models.py Media). */
export const MAX_MEDIA_BYTES = 25 * 1024 * 1024;
/** MAX_MEDIA_BYTES as people read it, for notices. */
export const MAX_MEDIA_LABEL = '25 MB';

/** A webhook call (handoff, message) stops fetching attachments after this, inside RapidPro's 15 s. */
export const WEBHOOK_CALL_BUDGET_MS = 10000;
/** One download of a contact's attachment, at most. */
export const ATTACHMENT_FETCH_TIMEOUT_MS = 8000;
/** With less time than this left in the call, an attachment is posted as its link instead. */
export const MIN_ATTACHMENT_FETCH_MS = 1000;

/** Bounds of request_timeout_ms: an attempt may make two requests (upload, message) inside one 30 s call. */
export const MIN_REQUEST_TIMEOUT_MS = 500;
export const MAX_REQUEST_TIMEOUT_MS = 10000;
/** `GET health` waits at most this for RapidPro. */
export const HEALTH_TIMEOUT_MS = 5000;
/** A handoff that asks for the bot conversation waits at most this for it. */
export const HISTORY_TIMEOUT_MS = 4000;
/** How far back the bot conversation of a handoff goes. */
export const HISTORY_WINDOW_MS = 24 * 3600 * 1000;

/**
 * A drain starts no new outbox item after this much time, so the last attempt (a file: upload then
 * message, each at most MAX_REQUEST_TIMEOUT_MS) still ends inside the 30 s call and the claim (CLAIM_TTL_MS).
 */
export const DRAIN_BUDGET_MS = 5000;
/** A drain job leaves its drain to finish alone once no call ended for this long (see DeliveryJobProcessor). */
export const JOB_WAIT_MS = 1000;
/** The periodic sweep sends for at most this long, and at most SWEEP_CONTACT_BUDGET_MS per contact. */
export const SWEEP_BUDGET_MS = 15000;
export const SWEEP_CONTACT_BUDGET_MS = 1000;
/** How many contacts the sweep sends for at once. */
export const SWEEP_PARALLEL_DRAINS = 8;

/**
 * A claim older than this belongs to an instance that stopped half way; it no longer blocks. Work
 * done under a claim (a webhook call, a drain: DRAIN_BUDGET_MS plus one attempt) ends well inside it.
 */
export const CLAIM_TTL_MS = 60000;
/** How long a webhook call waits for another instance's claim on the same contact before answering 409. */
export const CLAIM_WAIT_MS = 5000;
/** The catch-up reads a room's newest messages: a first look at this many, then pages of CATCH_UP_PAGE, at most CATCH_UP_PAGES. */
export const CATCH_UP_FIRST_PAGE = 10;
export const CATCH_UP_PAGE = 50;
export const CATCH_UP_PAGES = 10;
/**
 * The sweep's catch-up (also the first one after the app starts) looks this far behind the last
 * forwarded message: a message written on another instance may be stamped, or become readable,
 * this far out of order.
 */
export const CATCH_UP_SLACK_MS = 10000;
/**
 * An agent message's own catch-up looks only this far behind (enough for replies written at the
 * same moment on several instances to keep their order, and one short read in a busy room), except
 * once every CATCH_UP_FAR_LOOK_EVERY_MS per room, when it looks CATCH_UP_SLACK_MS behind.
 */
export const CATCH_UP_RECENT_SLACK_MS = 2000;
export const CATCH_UP_FAR_LOOK_EVERY_MS = 4000;
/** A drain that finds another instance sending the contact's calls looks again this much later. */
export const CLAIM_RETRY_MS = 1500;
/** A transfer to a queue and the agent's unassignment arrive together: one "waiting" notice for both. */
export const WAITING_NOTICE_WINDOW_MS = 10000;
/** A POST close this recent counts as the contact's, whoever's close Rocket.Chat recorded (it may race an agent's). */
export const CLOSE_REQUEST_WINDOW_MS = 60000;
/** Settings are re-read at least this often, should a change notice ever be missed. */
export const SETTINGS_MAX_AGE_MS = 60000;
/** Message ids kept per contact for `duplicate`: RapidPro's webhook retries, with room to spare. */
export const SEEN_MESSAGES_KEPT = 200;

/**
 * The failure watcher (what RapidPro later reports `failed`). Its job runs every
 * FAILURE_WATCH_INTERVAL; a run asks RapidPro nothing when no part sent in the last
 * FAILURE_WATCH_MS waits for a verdict, asks at every run while something was sent in the last
 * FAILURE_WATCH_RECENT_MS, at most once per FAILURE_WATCH_QUIET_MS otherwise, and reads at most
 * FAILURE_WATCH_MAX_PAGES pages (of 250) per run. Parts are watched for FAILURE_WATCH_MS: RapidPro
 * gives up an errored message after a few retries within the hour; a day is ample.
 */
export const FAILURE_WATCH_INTERVAL = '10 minutes';
export const FAILURE_WATCH_MS = 24 * 3600 * 1000;
export const FAILURE_WATCH_RECENT_MS = 2 * 3600 * 1000;
export const FAILURE_WATCH_QUIET_MS = 3600 * 1000;
export const FAILURE_WATCH_MAX_PAGES = 3;
/** RapidPro's clock may differ from Rocket.Chat's: the watcher looks this much further back. */
export const FAILURE_WATCH_SKEW_MS = 5 * 60 * 1000;

/**
 * RapidPro's rate limits (see domain/ScopePauses). Each instance re-reads the scope pauses other
 * instances wrote at most this often (one read, not one per drain).
 */
export const SCOPE_PAUSE_CACHE_MS = 5000;
/** A 429 without a readable Retry-After pauses its scope this long. */
export const DEFAULT_SCOPE_PAUSE_MS = 60000;
/** A scope paused within this long is under pressure: drains take turns (SCOPE_TURN_REQUESTS each). */
export const SCOPE_PRESSURE_MS = 60000;
export const SCOPE_TURN_REQUESTS = 1;
/** Drains waiting for a paused scope resume spread over this long, in no fixed order. */
export const SCOPE_RESUME_SPREAD_MS = 500;

/** Why a call waits when RapidPro answered 429: its budget, not an outage (the recovery probe leaves it alone). */
export const THROTTLED_REASON = 'RapidPro is rate limiting this workspace';

/** What one instance remembers to save a read (a room's contact, a contact's room, a room's busyness): entries kept. */
export const REMEMBERED_PER_INSTANCE = 10000;
