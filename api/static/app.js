// The page of docs/page.md: a form for POST /write, the run as its events arrive, the outline
// of a write sent with `review_outline` to approve or edit (POST /sessions/{id}/outline), the
// finished article, a follow-up that changes it (POST /sessions/{id}/revise), and a rating for
// POST /feedback.
//
// Model and source text reach the page only through textContent, text nodes and input values,
// never innerHTML: a topic such as `<img src=x onerror=alert(1)>` comes back in titles, tool
// arguments, outlines and error messages, and must stay text there.

const $ = (id) => document.getElementById(id);
const USER_KEY = "article-writer.user_id";
// The API key, when the server has keys: in sessionStorage, so it goes when the tab closes.
const API_KEY = "article-writer.api_key";
// The fields a 422 can name: the article form's, and the follow-up's instruction.
const FIELDS = [
  "topic",
  "audience",
  "tone",
  "target_words",
  "prompt_alias",
  "user_id",
  "api_key",
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
// The outline on the page, waiting for approval (see showOutline()): {session, turn, user,
// alias, outline, state, closed}; `closed` once the server says it can no longer be approved.
let pending = null;
let rated = null; // the trace the rating form rates
let defaultAlias = null;

// --- Calls to the API --------------------------------------------------------------------

// fetch, with the API key when one is entered (every route but the page's files needs it on a
// server with keys).
function call(path, init = {}) {
  const key = $("api_key").value.trim();
  const headers = { ...init.headers, ...(key ? { Authorization: `Bearer ${key}` } : {}) };
  return fetch(path, { ...init, headers });
}

// A 401: the server has keys, and this one is missing or not accepted. The key field shows,
// marked with the server's message.
function needKey(message) {
  $("api_key-field").hidden = false;
  markField("api_key", message);
  return $("api_key");
}

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

// One run, shown as its events arrive: a new article (`POST /write`), a follow-up
// (`POST /sessions/{id}/revise`, see revise()), or an outline's approval (`POST
// /sessions/{id}/outline`, see approveOutline()), which stream the same events. A follow-up
// passes `changing`, the article on the page: it stays shown until the revised one replaces
// it, and stays if the follow-up fails. An approval passes `approving`, the outline waiting
// (`pending`): it stays shown, to be corrected, until the server has taken it and the run
// starts.
async function startRun(path, body, changing = null, approving = null) {
  run = {
    controller: new AbortController(),
    started: performance.now(),
    timer: setInterval(showElapsed, 200),
    traceId: null,
    traceUrl: null,
    user: body.user_id ?? null, // the session's owner, if this run starts one
    alias: body.prompt_alias ?? null, // and its prompts, for an outline's approval
    changing,
    approving,
    // The last state summary, to show what each step changed; a follow-up goes on from the
    // state its article was left in, an approval from its plan's.
    state: { ...(changing ?? approving)?.state },
    open: new Map(), // node name -> its timeline entry, while it runs
    calls: [], // tool calls waiting for their result: [{tool, entry}]
    revisions: 0,
  };
  resetRun();
  setRunning(true);
  try {
    const response = await call(path, {
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
      ended ||= event === "done" || event === "error" || event === "interrupt";
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
    // The server has taken the outline: this run is its turn, and it cannot be approved again.
    if (run.approving) {
      $("outline").hidden = true;
      pending = null;
    }
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
  // A write sent with `review_outline` stops after its plan: the outline waits for approval.
  interrupt(data) {
    $("stop").disabled = true;
    const sections = plural(data.outline.sections.length, "sections");
    say(`Outline ready (${sections}): approve it, or change it first.`);
    showOutline(data);
  },
  done(data) {
    $("stop").disabled = true; // the article is here; only the connection is left to close
    const what = run.changing
      ? `Revised article ready (turn ${data.turn})`
      : run.approving
        ? `Article ready (turn ${data.turn})`
        : "Article ready";
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
  // A follow-up keeps the article it changes on the page, an approval the outline it sends.
  const kept = run.changing ? "result" : run.approving ? "outline" : null;
  for (const id of ["error", "live", "result", "outline"]) {
    if (id !== kept) $(id).hidden = true;
  }
  if (!run.approving) pending = null; // a new article: an outline waiting is left behind
  $("intro").hidden = Boolean(kept);
  $("timeline").replaceChildren();
  $("trace").replaceChildren("waiting…");
  $("tokens").textContent = "0";
  for (const name of FIELDS) markField(name, null);
  clearOutlineMarks();
  startPass("draft");
  // A follow-up is sent from below the article, an approval from below the outline: bring the
  // run into view. In two columns the top of the page shows all of it; in one, the progress
  // panel comes first, the text under it.
  if (kept) {
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
  $("approve").disabled = running || Boolean(pending?.closed);
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

// The article as files a reader keeps: its Markdown with the references, and a standalone
// HTML page made from what this page rendered (text nodes only, so nothing in it runs).
function offerDownloads(article) {
  const name = (article.title || "article").replace(/[^\w-]+/g, "-").replace(/^-|-$/g, "") || "article";
  const cited = article.references.map(
    (ref) => `${ref.n}. ${ref.title}${ref.location ? ` (${ref.location})` : ` (${ref.source_id})`}`,
  );
  const markdown = `${article.markdown}\n\n## References\n\n${cited.join("\n")}\n`;
  const page = document.implementation.createHTMLDocument(article.title || "Article");
  const charset = page.createElement("meta");
  charset.setAttribute("charset", "utf-8");
  page.head.prepend(charset);
  page.body.append($("article").cloneNode(true), $("references").cloneNode(true));
  const html = `<!doctype html>\n${page.documentElement.outerHTML}\n`;
  offer($("download-md"), `${name}.md`, markdown, "text/markdown");
  offer($("download-html"), `${name}.html`, html, "text/html");
}

function offer(link, name, text, type) {
  if (link.href.startsWith("blob:")) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(new Blob([text], { type: `${type};charset=utf-8` }));
  link.download = name;
}

// Where a reference is from: the bundled library, the reader's own file, or a web page
// (a link only to an http(s) address, opened away from this page).
function origin(ref) {
  if (ref.origin === "web" && /^https?:\/\//i.test(ref.location ?? "")) {
    const link = element("a", ref.location);
    link.href = ref.location;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    return element("span", ["(the web: ", link, ")"]);
  }
  if (ref.origin === "documents") {
    return element("span", ["(your documents: ", element("code", ref.location || ref.source_id), ")"]);
  }
  return element("span", ["(library: ", element("code", ref.source_id), ")"]);
}

function showArticle(done) {
  const { article } = done;
  $("turn").replaceChildren(`Turn ${done.turn} of session `, element("code", done.session_id));
  renderMarkdown($("article"), article.markdown);
  $("references").replaceChildren(
    ...article.references.map((ref) => {
      const item = element("li", [element("span", ref.title), " ", origin(ref)]);
      item.id = `ref-${ref.n}`;
      item.value = ref.n;
      return item;
    }),
  );
  offerDownloads(article);
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
// comes with it, empty; revise() sends it to the article's session. (An outline to approve
// comes before any article: showOutline(), called on the `interrupt` event.)
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

// --- The outline, for approval ------------------------------------------------------------

// As the server's Outline: 2-6 sections, 1-8 research questions.
const SECTIONS = { min: 2, max: 6 };
const QUESTIONS = { min: 1, max: 8 };
let inputs = 0; // numbers the outline's inputs, for their labels' `for`

// The `interrupt` event's outline, as inputs to edit: the model's text is their value, never
// markup. The panel's heading takes the focus, so a screen reader says where the run stopped.
function showOutline(waiting) {
  const { outline } = waiting;
  pending = {
    session: waiting.session_id,
    turn: waiting.turn,
    user: run.user,
    alias: run.alias,
    outline,
    state: run.state,
    closed: false,
  };
  $("outline-title").value = outline.title;
  $("outline-sections").replaceChildren(...outline.sections.map(sectionItem));
  $("outline-questions").replaceChildren(...outline.research_questions.map(questionItem));
  numberOutline();
  clearOutlineMarks();
  showExpiry(waiting.expires_at);
  $("approve").disabled = false;
  $("outline").hidden = false;
  $("intro").hidden = true;
  $("outline-heading").focus();
}

function textInput(name, value) {
  const input = element("input");
  input.id = `outline-input-${++inputs}`;
  input.name = name;
  input.required = true;
  input.autocomplete = "off";
  input.value = value;
  return input;
}

function labelFor(input, text, className = "") {
  const label = element("label", text, className);
  label.htmlFor = input.id;
  return label;
}

function removeButton() {
  const button = element("button", [], "secondary remove");
  button.type = "button";
  return button;
}

// A section: its heading and question in a group named "Section n", and a button to remove it.
function sectionItem(section = { heading: "", question: "" }) {
  const heading = textInput("heading", section.heading);
  const question = textInput("question", section.question);
  const fieldset = element("fieldset", [
    element("legend"),
    element("div", [labelFor(heading, "Heading"), heading], "field"),
    element("div", [labelFor(question, "Question"), question], "field"),
    removeButton(),
  ]);
  return element("li", [fieldset]);
}

// A research question, labelled "Research question n" (the list shows its number).
function questionItem(text = "") {
  const input = textInput("research_question", text);
  return element("li", [labelFor(input, "", "visually-hidden"), input, removeButton()]);
}

// Numbers the sections and questions as they now stand, and allows removing and adding only
// within the server's limits.
function numberOutline() {
  const sections = [...$("outline-sections").children];
  sections.forEach((item, i) => {
    item.querySelector("legend").textContent = `Section ${i + 1}`;
    const remove = item.querySelector(".remove");
    remove.replaceChildren("Remove", element("span", ` section ${i + 1}`, "visually-hidden"));
    remove.disabled = sections.length <= SECTIONS.min;
  });
  $("add-section").disabled = sections.length >= SECTIONS.max;
  const questions = [...$("outline-questions").children];
  questions.forEach((item, i) => {
    item.querySelector("label").textContent = `Research question ${i + 1}`;
    const remove = item.querySelector(".remove");
    remove.replaceChildren("Remove", element("span", ` question ${i + 1}`, "visually-hidden"));
    remove.disabled = questions.length <= QUESTIONS.min;
  });
  $("add-question").disabled = questions.length >= QUESTIONS.max;
}

function addItem(list, item) {
  list.append(item);
  numberOutline();
  item.querySelector("input").focus();
}

// The focus goes to the item that takes the removed one's place, not back to the page's top.
function removeItem(item) {
  const next = item.nextElementSibling ?? item.previousElementSibling;
  item.remove();
  numberOutline();
  next?.querySelector("input")?.focus();
}

// "It waits until 14:05 (your time)": the server's `expires_at` (UTC) in the browser's zone,
// with the date too when it is not today.
function showExpiry(expiresAt) {
  const note = $("outline-expires");
  const at = new Date(expiresAt);
  if (Number.isNaN(at.getTime())) {
    note.replaceChildren();
    return;
  }
  const today = at.toDateString() === new Date().toDateString();
  const when = today
    ? at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : at.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
  const time = element("time", when);
  time.dateTime = expiresAt;
  note.replaceChildren(
    "It waits for approval until ",
    time,
    " (your local time); after that, the article must be written again.",
  );
}

// The outline as it now stands on the page, trimmed, in the shape the server takes.
function editedOutline() {
  const text = (input) => input.value.trim();
  return {
    title: text($("outline-title")),
    sections: [...$("outline-sections").children].map((item) => ({
      heading: text(item.querySelector("[name=heading]")),
      question: text(item.querySelector("[name=question]")),
    })),
    research_questions: [...$("outline-questions").querySelectorAll("input")].map(text),
  };
}

function sameOutline(a, b) {
  const shape = (o) => ({
    title: o.title,
    sections: o.sections.map(({ heading, question }) => ({ heading, question })),
    research_questions: [...o.research_questions],
  });
  return JSON.stringify(shape(a)) === JSON.stringify(shape(b));
}

// Approve: `{"approve": true}` for the outline as the plan made it, else the edited one. It
// goes as the session's owner, with the prompts its write asked for.
function approveOutline(form) {
  // Blank text passes `required`, and the server would take it: it is caught here.
  for (const input of form.querySelectorAll("input")) {
    const blank = !input.value.trim();
    const title = input.name === "title";
    input.setCustomValidity(
      !blank ? "" : title ? "Give the article a title." : "Fill this in, or remove it.",
    );
  }
  if (!form.reportValidity()) return;
  const edited = editedOutline();
  const body = sameOutline(edited, pending.outline) ? { approve: true } : { outline: edited };
  if (pending.user) body.user_id = pending.user;
  if (pending.alias) body.prompt_alias = pending.alias;
  startRun(`/sessions/${encodeURIComponent(pending.session)}/outline`, body, null, pending);
}

// A 422 on the outline names its fields by path: `outline.title`, `outline.sections`,
// `outline.sections.2.heading`, `outline.research_questions.0`. Its message goes under the
// title or the list, the input it names is marked; returns what to focus, or null.
const OUTLINE_LISTS = {
  sections: { list: "outline-sections", noun: "Section" },
  research_questions: { list: "outline-questions", noun: "Question" },
};

function markOutline(field, message) {
  const [root, group, index, key] = field.split(".");
  if (root !== "outline" || $("outline").hidden) return null;
  if (group === "title") {
    const title = $("outline-title");
    title.setAttribute("aria-invalid", "");
    showNote($("outline-title-error"), message);
    return title;
  }
  if (!Object.hasOwn(OUTLINE_LISTS, group)) return null;
  const { list, noun } = OUTLINE_LISTS[group];
  let input = null;
  let where = "";
  if (index !== undefined) {
    const item = $(list).children[Number(index)];
    input = item?.querySelector(key ? `[name=${key}]` : "input") ?? null;
    input?.setAttribute("aria-invalid", "");
    where = `${noun} ${Number(index) + 1}${key ? ` ${key}` : ""}: `;
  }
  showNote($(`${list}-error`), where + message);
  return input ?? $(list).querySelector("input");
}

function showNote(note, text) {
  note.textContent = note.textContent ? `${note.textContent} ${text}` : text;
  note.hidden = false;
}

function clearOutlineMarks() {
  for (const input of $("outline").querySelectorAll("[aria-invalid]")) {
    input.removeAttribute("aria-invalid");
  }
  for (const id of ["outline-title-error", "outline-sections-error", "outline-questions-error"]) {
    $(id).hidden = true;
    $(id).textContent = "";
  }
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
  unauthorized: "The server needs a valid API key.",
  rate_limited: "Too many requests.",
  too_many_in_flight: "Your other articles are still being written.",
  unknown_prompt_alias: "Unknown prompt alias.",
  context_too_small: "The article does not fit the model.",
  stopped: "Stopped.",
};
// Where a follow-up's failure reads differently.
const FOLLOW_UP_HEADLINES = {
  no_sources: "No sources for that section.",
};
// And an approval's; the server's message for these speaks of the API, the page's of itself.
const OUTLINE_HEADLINES = {
  invalid_request: "Check the outline.",
  outline_expired: "This outline has expired.",
  no_outline: "This outline can no longer be approved.",
  unknown_session: "The session of this outline is gone.",
};
const OUTLINE_MESSAGES = {
  outline_expired:
    "The server keeps an outline for approval only so long. Write the article again with " +
    "the form: it still holds your topic.",
  no_outline:
    "It was approved already, or its session went on without it. Write the article again " +
    "with the form.",
};
// After these, approving the outline again cannot work.
const OUTLINE_GONE = new Set(["outline_expired", "no_outline", "unknown_session"]);

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
  const approving = run?.approving;
  const headline =
    (changing && FOLLOW_UP_HEADLINES[failure.code]) ??
    (approving && OUTLINE_HEADLINES[failure.code]) ??
    HEADLINES[failure.code] ??
    (changing ? "The article could not be changed." : "The article could not be written.");
  const message = (approving && OUTLINE_MESSAGES[failure.code]) ?? failure.message ?? "";
  const parts = [element("p", [element("strong", headline), " ", message])];
  // A follow-up that fails changes nothing: the session goes on from the article shown.
  if (changing) {
    parts.push(element("p", `The article below is unchanged: turn ${changing.turn}.`));
  }
  // An approval refused before its run started leaves the outline waiting, to be corrected;
  // unless the server no longer has it.
  if (approving && !$("outline").hidden) {
    approving.closed ||= OUTLINE_GONE.has(failure.code);
    const kept = approving.closed
      ? "The outline stays below for reference; it can no longer be approved."
      : "The outline below is kept: correct it and approve it again.";
    parts.push(element("p", kept));
    if (approving.closed) {
      $("outline-expires").textContent = "It can no longer be approved: write the article again.";
    }
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
  // A refused field is marked where it is: on the article form, or on the outline.
  const marked = [];
  for (const { field, message: said } of failure.fields ?? []) {
    if (FIELDS.includes(field)) {
      markField(field, said);
      marked.push($(field));
    } else {
      const input = markOutline(field, said);
      if (input) marked.push(input);
    }
  }
  if (failure.code === "unauthorized") marked.push(needKey(failure.message));
  marked[0]?.focus();
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
    const response = await call("/feedback", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ trace_id: rated, value, user_id: user, comment }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      status.textContent = `Not stored: ${body.message ?? `the answer was ${response.status}.`}`;
      if (response.status === 401) needKey(body.message).focus();
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
    const answer = await call("/prompts/aliases");
    if (answer.status === 401) {
      // Said once a key is entered; until then the field shows, with its hint.
      $("api_key-field").hidden = false;
      if ($("api_key").value.trim()) markField("api_key", (await errorOf(answer)).message);
      return;
    }
    markField("api_key", null);
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
  if (form.elements.review_outline.checked) body.review_outline = true;
  // The default alias is not named, so a registry without it still serves the bundled prompts.
  const alias = form.elements.prompt_alias.value;
  if (alias && alias !== defaultAlias) body.prompt_alias = alias;
  return body;
}

// `storage` by name: reading window.localStorage itself throws where storage is off.
function remember(key, value, storage = "localStorage") {
  try {
    window[storage].setItem(key, value);
  } catch {
    // Storage can be off (private windows); the page works without it.
  }
}

function remembered(key, storage = "localStorage") {
  try {
    return window[storage].getItem(key) ?? "";
  } catch {
    return "";
  }
}

$("user_id").value = remembered(USER_KEY);
$("user_id").addEventListener("input", (event) => remember(USER_KEY, event.target.value.trim()));
$("api_key").value = remembered(API_KEY, "sessionStorage");
$("api_key").addEventListener("change", (event) => {
  remember(API_KEY, event.target.value.trim(), "sessionStorage");
  loadAliases(); // the aliases a key may see, and whether this one is accepted
});
$("write-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if (!run?.running) startRun("/write", formBody(event.target));
});
$("follow-up").addEventListener("submit", (event) => {
  event.preventDefault();
  if (!run?.running) revise(event.target.elements.instruction.value.trim());
});
$("outline").addEventListener("submit", (event) => {
  event.preventDefault();
  if (!run?.running && pending && !pending.closed) approveOutline(event.target);
});
// A blank field's note (approveOutline()) goes as soon as it is typed in.
$("outline").addEventListener("input", (event) => event.target.setCustomValidity?.(""));
$("add-section").addEventListener("click", () => addItem($("outline-sections"), sectionItem()));
$("add-question").addEventListener("click", () => addItem($("outline-questions"), questionItem()));
for (const list of ["outline-sections", "outline-questions"]) {
  $(list).addEventListener("click", (event) => {
    const remove = event.target.closest(".remove");
    if (remove && !remove.disabled) removeItem(remove.closest(`#${list} > li`));
  });
}
$("stop").addEventListener("click", () => run?.controller.abort());
$("rating").addEventListener("submit", (event) => {
  event.preventDefault();
  sendRatings(event.target);
});
loadAliases();
