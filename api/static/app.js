// The page of docs/page.md: a form for POST /write, the run as its events arrive, the finished
// article, a follow-up that changes it (POST /sessions/{id}/revise), and a rating for
// POST /feedback.
//
// Model and source text reach the page only through textContent and text nodes, never
// innerHTML: a topic such as `<img src=x onerror=alert(1)>` comes back in titles, tool
// arguments and error messages, and must stay text there.

const $ = (id) => document.getElementById(id);
const USER_KEY = "article-writer.user_id";
// The fields a 422 can name: the article form's, and the follow-up's instruction.
const FIELDS = [
  "topic",
  "audience",
  "tone",
  "target_words",
  "prompt_alias",
  "user_id",
  "instruction",
];
const SUMMARY = ["amendment", "sources", "sections", "words", "decision", "issues"];
// Keys shown as "label: value" rather than as a count.
const LABELS = { amendment: "change", decision: "decision" };
// What each step is about: shown even when it did not change (see changes()).
const NODE_SUMMARY = {
  amend: ["amendment"], // a follow-up's first step: what the reader's instruction asks for
  plan: ["sections"],
  research: ["sources"],
  coverage: ["sources", "sections"],
  draft: ["words"],
  revise: ["words"],
  review: ["decision", "issues"],
  finalize: ["words"],
};
const WRITING_NODES = new Set(["draft", "revise"]);

let run = null; // the run going on, or the last one (see startRun())
// {id, turn, user} from the last run's `trace` event, with the user_id that run sent: where a
// follow-up goes, and as whom (a session belongs to the user_id of its first turn).
let session = null;
let current = null; // {turn, state} of the article on the page: what a follow-up changes
let rated = null; // the trace the rating form rates
let defaultAlias = null;

// --- Server-Sent Events, read from a fetch body (EventSource can only GET) ---------------

// Yields {event, data} per event. An event is `field: value` lines ended by a blank line;
// lines starting with `:` are comments (the server's pings).
async function* readEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let event = "message";
  let data = [];
  for (;;) {
    const { value: chunk, done } = await reader.read();
    if (done) return;
    buffer += chunk;
    // Lines end with CRLF, LF or CR; a CR at the very end may be half of a CRLF split across
    // two reads, so it waits for the next one.
    const lines = buffer.split(/\r\n|\r(?!$)|\n/);
    buffer = lines.pop();
    for (const line of lines) {
      if (line === "") {
        if (data.length) yield { event, data: JSON.parse(data.join("\n")) };
        event = "message";
        data = [];
      } else if (!line.startsWith(":")) {
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") event = value;
        else if (field === "data") data.push(value);
      }
    }
  }
}

// --- A small Markdown renderer that builds DOM nodes --------------------------------------

// Headings, paragraphs, lists, **bold**, *italic*, `code` and [n] citations: what the
// article's Markdown uses. Anything else stays as the text it is.
function renderMarkdown(container, markdown) {
  container.replaceChildren(...markdown.split(/\n\s*\n/).flatMap(blockNodes));
}

function blockNodes(block) {
  const lines = block.split("\n").filter((line) => line.trim());
  if (!lines.length) return [];
  const heading = lines[0].match(/^(#{1,6})\s+(.*)$/);
  if (heading) {
    // The page's own h1 is above; the article's `#` title is an h2 under it.
    const level = Math.min(heading[1].length + 1, 6);
    return [element(`h${level}`, inline(heading[2])), ...blockNodes(lines.slice(1).join("\n"))];
  }
  if (lines.every((line) => BULLET.test(line))) return [list("ul", lines, BULLET)];
  if (lines.every((line) => NUMBERED.test(line))) return [list("ol", lines, NUMBERED)];
  return [element("p", inline(lines.join(" ")))];
}

const BULLET = /^\s*[-*+]\s+/;
const NUMBERED = /^\s*\d+[.)]\s+/;

function list(tag, lines, marker) {
  return element(tag, lines.map((line) => element("li", inline(line.replace(marker, "")))));
}

// One capture group, so that split() puts the markup at the odd positions. `_` marks italics
// only outside words, so snake_case stays as it is.
const INLINE = /(\*\*[^*]+\*\*|\*[^*\s][^*]*\*|(?<!\w)_[^_\s][^_]*_(?!\w)|`[^`]+`|\[\d+\])/;

function inline(text) {
  return text.split(INLINE).map((part, i) => {
    if (i % 2 === 0) return document.createTextNode(part); // the text between the markup
    if (part.startsWith("**")) return element("strong", inline(part.slice(2, -2)));
    if (part.startsWith("`")) return element("code", part.slice(1, -1));
    if (part.startsWith("[")) {
      const link = element("a", part);
      link.href = `#ref-${part.slice(1, -1)}`;
      link.className = "cite";
      return link;
    }
    return element("em", inline(part.slice(1, -1)));
  });
}

// An element with text (a string, set as textContent) or child nodes.
function element(tag, content = [], className = "") {
  const node = document.createElement(tag);
  if (typeof content === "string") node.textContent = content;
  else node.append(...content);
  if (className) node.className = className;
  return node;
}

// --- Writing an article, or changing it --------------------------------------------------

// One run, shown as its events arrive: a new article (`POST /write`), or a follow-up
// (`POST /sessions/{id}/revise`, see revise()), which streams the same events. A follow-up
// passes `changing`, the article on the page: it stays shown until the revised one replaces
// it, and stays if the follow-up fails.
async function startRun(path, body, changing = null) {
  run = {
    controller: new AbortController(),
    started: performance.now(),
    timer: setInterval(showElapsed, 200),
    traceId: null,
    traceUrl: null,
    user: body.user_id ?? null, // the session's owner, if this run starts one
    changing,
    // The last state summary, to show what each step changed; a follow-up goes on from the
    // state its article was left in.
    state: { ...changing?.state },
    open: new Map(), // node name -> its timeline entry, while it runs
    calls: [], // tool calls waiting for their result: [{tool, entry}]
    revisions: 0,
  };
  resetRun();
  setRunning(true);
  try {
    const response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify(body),
      signal: run.controller.signal,
    });
    if (!response.ok) {
      showFailure(await errorOf(response), response);
      return;
    }
    let ended = false;
    for await (const { event, data } of readEvents(response.body)) {
      if (Object.hasOwn(ON_EVENT, event)) ON_EVENT[event](data);
      ended ||= event === "done" || event === "error";
    }
    if (!ended) showFailure({ message: "The connection closed before the article was finished." });
  } catch (error) {
    if (error.name === "AbortError") {
      // Hanging up is the stop signal: the server cancels the run and keeps its trace.
      showFailure({
        code: "stopped",
        message: "Closing the connection ends the run; its trace is kept, marked cancelled.",
      });
    } else {
      showFailure({ message: "The server could not be reached. Is the API running?" });
    }
  } finally {
    clearInterval(run.timer);
    showElapsed();
    setRunning(false);
  }
}

const ON_EVENT = {
  trace(data) {
    run.traceId = data.trace_id;
    run.traceUrl = linkable(data.trace_url);
    session = { id: data.session_id, turn: data.turn, user: run.user };
    showTrace($("trace"), data.trace_id, run.traceUrl);
    say(data.trace_id ? `Started: trace ${data.trace_id}.` : "Started (tracing is off).");
  },
  node(data) {
    if (data.status === "start") {
      const badge = element("span", "running", "badge");
      const entry = element("li", [element("span", data.node, "name"), badge]);
      entry.className = "running";
      run.open.set(data.node, entry);
      followTimeline(() => $("timeline").append(entry));
      if (WRITING_NODES.has(data.node)) startPass(data.node);
      say(`${data.node} running…`);
      return;
    }
    const entry = run.open.get(data.node);
    if (!entry) return;
    run.open.delete(data.node);
    entry.className = "done";
    entry.querySelector(".badge").textContent = "done";
    const summary = changes(data.node, run.state, data.state ?? {});
    run.state = data.state ?? {};
    if (summary) followTimeline(() => entry.append(element("span", summary, "summary")));
    say(summary ? `${data.node} done: ${summary}.` : `${data.node} done.`);
  },
  tool(data) {
    const node = run.open.get(data.node);
    if (!node) return;
    if (data.status === "start") {
      const args = Object.entries(data.args ?? {}).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
      const entry = element("li", [
        element("span", data.tool, "name"),
        element("span", args.join(", "), "args"),
      ]);
      entry.className = "running";
      if (!node.querySelector(".tools")) node.append(element("ul", [], "tools"));
      followTimeline(() => node.querySelector(".tools").append(entry));
      run.calls.push({ tool: data.tool, entry });
      return;
    }
    // Results come back in the order of the calls: the first open call of the tool is this one.
    const index = run.calls.findIndex((call) => call.tool === data.tool);
    if (index < 0) return;
    const [{ entry }] = run.calls.splice(index, 1);
    entry.className = data.status === "error" ? "failed" : "done";
    const preview = element("span", `→ ${data.result_preview ?? ""}`, "preview");
    followTimeline(() => entry.append(preview));
  },
  token(data) {
    run.text.appendData(data.text);
    $("live").hidden = false;
    $("intro").hidden = true;
  },
  usage(data) {
    $("tokens").textContent = tokenText(data);
  },
  done(data) {
    $("stop").disabled = true; // the article is here; only the connection is left to close
    const what = run.changing ? `Revised article ready (turn ${data.turn})` : "Article ready";
    say(`${what}: ${plural(data.article.word_count, "words")}.`);
    showArticle(data);
  },
  error(data) {
    $("stop").disabled = true;
    showFailure(data);
  },
};

function resetRun() {
  $("progress").hidden = false;
  // A follow-up keeps the article it changes on the page.
  for (const id of run.changing ? ["error", "live"] : ["error", "live", "result"]) {
    $(id).hidden = true;
  }
  $("intro").hidden = Boolean(run.changing);
  $("timeline").replaceChildren();
  $("trace").replaceChildren("waiting…");
  $("tokens").textContent = "0";
  for (const name of FIELDS) markField(name, null);
  startPass("draft");
  // A follow-up is sent from below the article: bring the run into view. In two columns the
  // top of the page shows all of it; in one, the progress panel comes first, the text under it.
  if (run.changing) {
    const twoColumns = matchMedia("(min-width: 60rem)").matches; // as style.css's .layout
    (twoColumns ? document.body : $("progress")).scrollIntoView({ block: "start" });
  }
}

// Each writing pass (the draft, then each revision) streams the whole article anew.
function startPass(node) {
  if (node === "revise") run.revisions += 1;
  run.pass = node === "revise" ? `Revision ${run.revisions}` : "Draft";
  $("live-heading").textContent = `${run.pass}, as it is written`;
  // One text node, appended to token by token: cheaper than rewriting textContent each time.
  run.text = document.createTextNode("");
  $("stream").replaceChildren(run.text);
}

// A step's state summary, in words: "3 sources", "decision: revise · 2 issues". A step shows
// what it is about (NODE_SUMMARY) unless that is still zero, and whatever it changed.
function changes(node, before, after) {
  const own = NODE_SUMMARY[node] ?? [];
  const shown = (key) =>
    after[key] !== undefined &&
    ((own.includes(key) && (after[key] !== 0 || key === "issues")) ||
      after[key] !== (before[key] ?? 0));
  return SUMMARY.filter(shown)
    .map((key) => (LABELS[key] ? `${LABELS[key]}: ${after[key]}` : plural(after[key], key)))
    .join(" · ");
}

function plural(count, noun) {
  return `${count.toLocaleString("en")} ${count === 1 ? noun.replace(/s$/, "") : noun}`;
}

// Makes a change to the timeline and keeps its newest line in view, unless the reader has
// scrolled up to look at an older one.
function followTimeline(change) {
  const timeline = $("timeline");
  const atEnd = timeline.scrollTop + timeline.clientHeight >= timeline.scrollHeight - 8;
  change();
  if (atEnd) timeline.scrollTop = timeline.scrollHeight;
}

function tokenText(usage) {
  const n = (x) => x.toLocaleString("en");
  return `${n(usage.total_tokens)} (${n(usage.input_tokens)} in, ${n(usage.output_tokens)} out)`;
}

function showElapsed() {
  $("elapsed").textContent = `${((performance.now() - run.started) / 1000).toFixed(1)} s`;
}

function say(text) {
  $("status").textContent = text;
}

function setRunning(running) {
  run.running = running;
  $("write").disabled = running;
  $("send-follow-up").disabled = running;
  $("stop").disabled = !running;
}

// Only http(s) addresses become links: never a `javascript:` one, whatever the server says.
function linkable(url) {
  return typeof url === "string" && /^https?:\/\//i.test(url) ? url : null;
}

// The trace id, linked to the MLflow UI when the server knows its address.
function showTrace(container, traceId, traceUrl) {
  if (!traceId) {
    container.replaceChildren("none (tracing is off)");
    return;
  }
  if (!traceUrl) {
    container.replaceChildren(element("code", traceId));
    return;
  }
  const link = element("a", [element("code", traceId)]);
  link.href = traceUrl;
  link.target = "_blank";
  link.rel = "noopener";
  container.replaceChildren(link);
}

// --- The finished article -----------------------------------------------------------------

function showArticle(done) {
  const { article } = done;
  $("turn").replaceChildren(`Turn ${done.turn} of session `, element("code", done.session_id));
  renderMarkdown($("article"), article.markdown);
  $("references").replaceChildren(
    ...article.references.map((ref) => {
      const item = element("li", [element("span", ref.title), " ", element("code", ref.source_id)]);
      item.id = `ref-${ref.n}`;
      item.value = ref.n;
      return item;
    }),
  );
  $("notes").hidden = !article.notes?.length;
  $("notes-list").replaceChildren(...(article.notes ?? []).map((note) => element("li", note)));

  const facts = [
    ["Words", article.word_count.toLocaleString("en")],
    ["Tokens", tokenText(done.usage)],
    // MLflow has no price for some models (the offline one); a cost is never made up.
    ["Cost", done.cost_usd == null ? "no price for this model" : `$${done.cost_usd.toFixed(4)}`],
    ["Model", done.model],
    ["Time", `${(done.duration_ms / 1000).toFixed(1)} s`],
    ["Prompts", promptsText(done.prompts)],
    ["Trace", done.trace_id ?? "none (tracing is off)"],
  ];
  $("about").replaceChildren(
    ...facts.flatMap(([term, value]) => [element("dt", term), element("dd", value)]),
  );
  const link = $("trace-link");
  const traceUrl = linkable(done.trace_url);
  link.hidden = !traceUrl;
  if (traceUrl) link.href = traceUrl;

  rated = done.trace_id;
  $("rating").reset();
  $("rating").hidden = !rated; // feedback is stored on the trace: none, nothing to rate
  $("rating-status").textContent = "";
  $("live").hidden = true;
  $("intro").hidden = true;
  $("result").hidden = false;
  offerFollowUp(done);
}

// FOLLOW-UP HOOK, called when an article is shown. The follow-up form ("make it shorter")
// comes with it, empty; revise() sends it to the article's session. (Outline approval is not
// on this page yet; it would hook in here too.)
function offerFollowUp(done) {
  current = { turn: done.turn, state: run.state };
  const form = $("follow-up");
  form.reset();
  form.hidden = !done.session_id;
}

// A follow-up: the same run as a write, in a new turn of the session, whose events show the
// same way; the revised article replaces this one when it is done.
function revise(instruction) {
  const body = { instruction };
  if (session.user) body.user_id = session.user; // the session's owner, whoever types now
  startRun(`/sessions/${encodeURIComponent(session.id)}/revise`, body, current);
}

// "article-draft v3, article-plan v2 (alias production)"; the bundled files have no versions.
function promptsText(prompts) {
  const names = prompts.map((p) => (p.version == null ? p.name : `${p.name} v${p.version}`));
  if (prompts.every((p) => p.version == null)) return `${names.join(", ")} (bundled files)`;
  const alias = prompts.find((p) => p.alias)?.alias;
  return alias ? `${names.join(", ")} (alias ${alias})` : names.join(", ");
}

// --- Failures -----------------------------------------------------------------------------

// What each failure means for the reader; the server's own message says the rest.
const HEADLINES = {
  no_sources: "No sources on this topic.",
  unrevisable: "This change cannot be made.",
  no_article: "There is no article to change.",
  unknown_session: "The session of this article is gone.",
  busy: "The server is busy.",
  session_busy: "This session is still writing.",
  timeout: "The article took too long.",
  provider_error: "The model provider failed.",
  provider_rejected: "The model provider refused the request.",
  model_error: "The model's answer could not be used.",
  invalid_request: "Check the form.",
  unknown_prompt_alias: "Unknown prompt alias.",
  context_too_small: "The article does not fit the model.",
  stopped: "Stopped.",
};
// Where a follow-up's failure reads differently.
const FOLLOW_UP_HEADLINES = {
  no_sources: "No sources for that section.",
};

// Failures come as `error` events ({code, ...}) or as JSON answers ({error, ...}).
async function errorOf(response) {
  try {
    const body = await response.json();
    return { ...body, code: body.error };
  } catch {
    return { message: `The server answered ${response.status}.` };
  }
}

function showFailure(failure, response = null) {
  const changing = run?.changing;
  const headline =
    (changing && FOLLOW_UP_HEADLINES[failure.code]) ??
    HEADLINES[failure.code] ??
    (changing ? "The article could not be changed." : "The article could not be written.");
  const parts = [element("p", [element("strong", headline), " ", failure.message ?? ""])];
  // A follow-up that fails changes nothing: the session goes on from the article shown.
  if (changing) {
    parts.push(element("p", `The article below is unchanged: turn ${changing.turn}.`));
  }
  const retry = response?.headers.get("Retry-After");
  if (retry) parts.push(element("p", `Try again in ${retry} seconds.`));
  if (failure.closest_sources?.length) {
    const documents = failure.closest_sources.map((source) =>
      element("li", [element("span", source.title), " ", element("code", source.id)]),
    );
    parts.push(element("p", "The closest documents the library holds:"), element("ul", documents));
  }
  const traceId = failure.trace_id ?? run?.traceId;
  if (traceId) {
    const trace = element("span");
    showTrace(trace, traceId, traceId === run?.traceId ? run.traceUrl : null);
    parts.push(element("p", ["Trace: ", trace]));
  }
  $("error").replaceChildren(...parts);
  $("error").hidden = false;
  $("error").scrollIntoView({ block: "nearest" });
  $("intro").hidden = true;
  say(headline);
  if (run) closeTimeline();
  const fields = (failure.fields ?? []).filter((problem) => FIELDS.includes(problem.field));
  for (const problem of fields) markField(problem.field, problem.message);
  if (fields.length) $(fields[0].field).focus();
}

// The steps and tool calls still running when the run failed or was stopped.
function closeTimeline() {
  for (const entry of run.open.values()) {
    entry.className = "stopped";
    entry.querySelector(".badge").textContent = "stopped";
  }
  for (const { entry } of run.calls) entry.className = "stopped";
  run.open.clear();
  run.calls = [];
  if (!$("live").hidden) $("live-heading").textContent = `${run.pass}, as far as it got`;
}

// Marks a form field the server refused (422), or clears it with a null message.
function markField(name, message) {
  if (!FIELDS.includes(name)) return; // "body": the message says it all
  const input = $(name);
  const note = $(`${name}-error`);
  input.toggleAttribute("aria-invalid", message != null);
  note.hidden = message == null;
  note.textContent = message ?? "";
}

// --- Rating -------------------------------------------------------------------------------

async function sendRatings(form) {
  const status = $("rating-status");
  const user = $("user_id").value.trim();
  const thumbs = form.elements.thumbs.value;
  const stars = form.elements.stars.value;
  const comment = form.elements.comment.value.trim() || undefined;
  if (!user) {
    status.textContent = "Enter your name (user id) above to rate.";
    $("user_id").focus();
    return;
  }
  if (!thumbs && !stars) {
    status.textContent = "Choose thumbs up or down, or a number of stars.";
    return;
  }
  status.textContent = "Sending…";
  // Thumbs and stars are two assessments on the trace; the comment goes with each.
  const values = [thumbs, stars && Number(stars)].filter(Boolean);
  const said = [];
  for (const value of values) {
    const response = await fetch("/feedback", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ trace_id: rated, value, user_id: user, comment }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      status.textContent = `Not stored: ${body.message ?? `the answer was ${response.status}.`}`;
      return;
    }
    const what = typeof value === "number" ? plural(value, "stars") : `thumbs ${value}`;
    said.push(body.overrides ? `${what} (replacing your earlier one)` : what);
  }
  status.textContent = `Stored on trace ${rated}: ${said.join(", ")}.`;
}

// --- Start-up -----------------------------------------------------------------------------

async function loadAliases() {
  const select = $("prompt_alias");
  try {
    const answer = await fetch("/prompts/aliases");
    if (!answer.ok) return;
    const { default: fallback, aliases } = await answer.json();
    defaultAlias = fallback;
    select.replaceChildren(
      ...aliases.map((alias) => {
        const option = element("option", alias === fallback ? `${alias} (default)` : alias);
        option.value = alias;
        return option;
      }),
    );
  } catch {
    // The default option stays: a request that names no alias uses the server's.
  }
}

function formBody(form) {
  const body = { topic: form.elements.topic.value.trim() };
  for (const name of ["audience", "tone", "user_id"]) {
    const value = form.elements[name].value.trim();
    if (value) body[name] = value; // empty: the server's default
  }
  const words = form.elements.target_words.value;
  if (words) body.target_words = Number(words);
  // The default alias is not named, so a registry without it still serves the bundled prompts.
  const alias = form.elements.prompt_alias.value;
  if (alias && alias !== defaultAlias) body.prompt_alias = alias;
  return body;
}

function remember(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Storage can be off (private windows); the page works without it.
  }
}

function remembered(key) {
  try {
    return localStorage.getItem(key) ?? "";
  } catch {
    return "";
  }
}

$("user_id").value = remembered(USER_KEY);
$("user_id").addEventListener("input", (event) => remember(USER_KEY, event.target.value.trim()));
$("write-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if (!run?.running) startRun("/write", formBody(event.target));
});
$("follow-up").addEventListener("submit", (event) => {
  event.preventDefault();
  if (!run?.running) revise(event.target.elements.instruction.value.trim());
});
$("stop").addEventListener("click", () => run?.controller.abort());
$("rating").addEventListener("submit", (event) => {
  event.preventDefault();
  sendRatings(event.target);
});
loadAliases();
