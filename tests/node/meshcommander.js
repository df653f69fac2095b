#!/usr/bin/env node
// Run MeshCommander's Intel AMT redirection code, as MeshCentral ships it on npm, against a
// device on loopback (here `amtterm sim`), with a TCP socket where it expects a WebSocket.
//
// The MeshCentral files are loaded from node_modules at run time (`npm ci` in this folder);
// nothing of them is copied into this repository. This file is only the harness around them:
//
//   sol:  public/scripts/amt-redir-ws-0.1.0.js  (the browser's redirection transport)
//         public/scripts/amt-terminal-0.0.2.js  (MeshCommander's own VT100 terminal emulator)
//         public/scripts/amt-0.2.0.js           (hex_md5 for the digest) and common-0.0.1.js
//         In the browser these talk to MeshCentral's web relay (webrelay.ashx?p=2&host=&port=&tls=)
//         over a WebSocket; the WebSocket below is that relay: it opens the TCP (or TLS) connection
//         the URL names and passes bytes both ways.
//   ider: amt/amt-redir-mesh.js and amt/amt-ider-module.js (the server's IDE-R, node code). It
//         opens its own net.Socket / tls.connect to port 16994 / 16995; the net and tls objects
//         it holds are swapped for ones that connect to the port given here instead.
//   wsman: amt/amt-wsman-comm.js, amt-wsman.js (with amt-xml.js) and amt.js: the WS-Man stack of
//         MeshCentral's amtmanager.js, which takes the host and port as they are.
//
// Usage (the password comes from AMT_PASSWORD, never from argv):
//   node meshcommander.js sol  --host 127.0.0.1 --port N [--tls] [--user admin]
//   node meshcommander.js ider --host 127.0.0.1 --port N [--tls] [--user admin]
//                              (--cd FILE | --floppy FILE) [--start reboot|graceful|now]
//   node meshcommander.js wsman --host 127.0.0.1 --port N [--tls [--pin SHA256HEX]] [--user admin]
//
// Output: one JSON object per line on stdout, {"event": ...}:
//   {"event":"state","state":N}            the transport's state (0 closed .. 3 session up)
//   {"event":"screen","lines":[...]}       sol: the terminal's rendered screen, after it changed
//   {"event":"sectors","drive":"cd","lba":L,"count":C}   ider: the device read these sectors
//   {"event":"error","message":"..."}      the driver could not start
//   {"event":"exit","stats":{...}}         before exiting
// Input: one JSON object per line on stdin:
//   {"key": 113}              sol: a key press, as the browser's keydown (e.which) would give it
//   {"keypress": 13}          sol: a keypress (printable characters, Enter)
//   {"text": "abc"}           sol: TermSendKeys
//   {"quit": true}            stop the session and exit (so does the end of stdin)
"use strict";

const fs = require("fs");
const net = require("net");
const path = require("path");
const readline = require("readline");
const tls = require("tls");
const util = require("util");
const vm = require("vm");

const MESHCENTRAL = path.dirname(require.resolve("meshcentral/package.json"));

// MeshCentral's code reports its own troubles with console.log; stdout is ours (JSON lines).
console.log = (...parts) => process.stderr.write(util.format(...parts) + "\n");

function emit(event) {
  process.stdout.write(JSON.stringify(event) + "\n");
}

function parseArgs(argv) {
  const args = { mode: argv[0], host: "127.0.0.1", user: "admin", tls: false, start: "now" };
  for (let i = 1; i < argv.length; i++) {
    const name = argv[i];
    if (name === "--tls") { args.tls = true; continue; }
    const value = argv[++i];
    if (value === undefined) throw new Error(`${name} needs a value`);
    if (name === "--host") args.host = value;
    else if (name === "--port") args.port = Number(value);
    else if (name === "--user") args.user = value;
    else if (name === "--cd") args.cd = value;
    else if (name === "--floppy") args.floppy = value;
    else if (name === "--start") args.start = value;
    else if (name === "--pin") args.pin = value.toLowerCase();
    else throw new Error(`unknown option ${name}`);
  }
  if (!["sol", "ider", "wsman"].includes(args.mode)) throw new Error("the first argument is sol, ider or wsman");
  if (!Number.isInteger(args.port)) throw new Error("--port is required");
  args.password = process.env.AMT_PASSWORD;
  if (!args.password) throw new Error("AMT_PASSWORD is not set");
  return args;
}

// A TLS connection the way MeshCentral's relay opens one to Intel AMT (self-signed
// certificates; MeshCentral pins them by hash elsewhere).
function connectTls(port, host, onConnect) {
  return tls.connect({ port, host, rejectUnauthorized: false, minVersion: "TLSv1" }, onConnect);
}

// --- sol ------------------------------------------------------------------------------------

// The web relay: a WebSocket whose far end is a TCP (or TLS) connection to the host and port
// named in its URL, as MeshCentral's webrelay.ashx is.
class RelayWebSocket {
  constructor(url) {
    const query = new URL(url, "http://relay/").searchParams;
    this.url = url;
    this.readyState = RelayWebSocket.CONNECTING;
    this.binaryType = "blob";
    this.onopen = this.onmessage = this.onclose = null;
    const host = query.get("host");
    const port = Number(query.get("port"));
    const opened = () => {
      this.readyState = RelayWebSocket.OPEN;
      if (this.onopen) this.onopen({});
    };
    this.socket = query.get("tls") === "1" ? connectTls(port, host, opened) : net.connect(port, host, opened);
    this.socket.setNoDelay(true);
    this.socket.on("data", (chunk) => {
      // One message per TCP read, as an ArrayBuffer of its own (the code slices and concatenates them).
      const data = chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.length);
      if (this.onmessage) this.onmessage({ data });
    });
    this.socket.on("error", (err) => emit({ event: "socket-error", message: String(err.message || err) }));
    this.socket.on("close", () => {
      const wasOpen = this.readyState !== RelayWebSocket.CLOSED;
      this.readyState = RelayWebSocket.CLOSED;
      if (wasOpen && this.onclose) this.onclose({});
    });
  }

  send(data) {
    if (this.readyState !== RelayWebSocket.OPEN) throw new Error("WebSocket is not open");
    const bytes = data instanceof ArrayBuffer ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.socket.write(Buffer.from(bytes));
  }

  close() {
    this.readyState = RelayWebSocket.CLOSED;
    this.socket.destroy();
  }
}
RelayWebSocket.CONNECTING = 0;
RelayWebSocket.OPEN = 1;
RelayWebSocket.CLOSING = 2;
RelayWebSocket.CLOSED = 3;

// Just enough of a page for the terminal: one <div> whose innerHTML it writes.
function fakePage() {
  const parent = { style: {} };
  const div = { innerHTML: "", style: {}, parentNode: parent, clientHeight: 525, scrollHeight: 525, scrollTop: 0 };
  const document = { getElementById: () => div };
  const window = { location: { protocol: "http:", host: "relay", pathname: "/commander.htm", href: "http://relay/commander.htm" }, document };
  return { div, document, window };
}

// The terminal's rendered screen: its innerHTML is the scroll-back then the screen, a line per <br>.
function renderedLines(html, height) {
  const lines = html.split("<br>").map((line) =>
    line
      .replace(/<[^>]*>/g, "")
      .replace(/&nbsp;/g, " ")
      .replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">")
      .replace(/&amp;/g, "&"),
  );
  return lines.slice(-height);
}

function loadBrowserScripts(page) {
  globalThis.window = page.window;
  globalThis.document = page.document;
  globalThis.WebSocket = RelayWebSocket;
  for (const file of ["common-0.0.1.js", "amt-0.2.0.js", "amt-redir-ws-0.1.0.js", "amt-terminal-0.0.2.js"]) {
    const full = path.join(MESHCENTRAL, "public", "scripts", file);
    vm.runInThisContext(fs.readFileSync(full, "utf8"), { filename: full });
  }
}

function runSol(args) {
  const page = fakePage();
  loadBrowserScripts(page);
  // As MeshCommander's page does: a terminal in a <div>, inside the redirection transport.
  const terminal = globalThis.CreateAmtRemoteTerminal("Term", { protocol: 1 });
  const redir = globalThis.CreateAmtRedirect(terminal, null);
  let last = "";
  let timer = null;
  const draw = terminal.TermDraw;
  terminal.TermDraw = function () {
    draw.apply(this, arguments);
    if (timer === null) {
      timer = setTimeout(() => {
        timer = null;
        const lines = renderedLines(page.div.innerHTML, terminal.height);
        const joined = lines.join("\n");
        if (joined !== last) { last = joined; emit({ event: "screen", lines }); }
      }, 30);
    }
  };
  redir.onStateChanged = (_, state) => {
    emit({ event: "state", state });
    if (state === 0) finish(redir, { received: redir.inDataCount });
  };
  commands((command) => {
    if (command.key !== undefined) terminal.TermHandleKeyDown({ which: command.key, repeat: false, ctrlKey: !!command.ctrl });
    if (command.keypress !== undefined) terminal.TermHandleKeys({ which: command.keypress, ctrlKey: false });
    if (command.text !== undefined) terminal.TermSendKeys(command.text);
  }, () => finish(redir, { received: redir.inDataCount }));
  redir.Start(args.host, args.port, args.user, args.password, args.tls ? 1 : 0);
}

// --- ider -----------------------------------------------------------------------------------

function portMapped(port) {
  class Socket extends net.Socket {
    connect(...a) {
      if (typeof a[0] === "number") a[0] = port;
      return super.connect(...a);
    }
  }
  return { Socket };
}

function tlsPortMapped(port) {
  // Its own TLS options (MeshCentral's ciphers and protocol floor) are kept; only the port changes.
  return { connect: (_port, host, options, onConnect) => tls.connect(port, host, options, onConnect) };
}

function runIder(args) {
  const forge = require(require.resolve("node-forge", { paths: [MESHCENTRAL] }));
  const common = require(path.join(MESHCENTRAL, "common.js"));
  const redirModule = require(path.join(MESHCENTRAL, "amt", "amt-redir-mesh.js"));
  const iderModule = require(path.join(MESHCENTRAL, "amt", "amt-ider-module.js"));
  const nodeid = "node//amtterm-sim";
  const meshid = "mesh//amtterm";
  // The parts of the MeshCentral server these two modules call: a device record with its AMT
  // credentials, a user allowed remote control of it, direct (not CIRA) connectivity, MD5.
  const node = { _id: nodeid, meshid, host: args.host, intelamt: { user: args.user, pass: args.password, tls: args.tls ? 1 : 0 } };
  const meshcentral = {
    debugLevel: null,
    db: { Get: (id, callback) => callback(null, id === nodeid ? [node] : []) },
    GetConnectivityState: () => ({ connectivity: 4 }),
    mpsserver: { GetConnectionToNode: () => null },
    certificateOperations: { forge },
  };
  const webserver = { common };
  const user = { name: "amtterm-tests", links: { [meshid]: { rights: 0xffffffff } } };
  const ider = iderModule.CreateAmtRemoteIder(webserver, meshcentral);
  const redir = redirModule.CreateAmtRedirect(ider, { id: "" }, user, webserver, meshcentral);
  redir.net = portMapped(args.port);
  redir.tls = tlsPortMapped(args.port);
  ider.iderStart = { reboot: 0, graceful: 1, now: 2 }[args.start];
  if (ider.iderStart === undefined) throw new Error("--start is reboot, graceful or now");
  ider.sectorStats = (mode, drive, total, lba, count) => {
    if (mode === 1) emit({ event: "sectors", drive: drive === 0 ? "floppy" : "cd", lba, count, total });
  };
  const problem = ider.diskSetup(args.floppy || null, args.cd || null);
  if (problem !== 0) { emit({ event: "error", message: `diskSetup returned ${problem}` }); process.exit(2); }
  const stats = () => ({ bytesToAmt: ider.bytesToAmt, bytesFromAmt: ider.bytesFromAmt, enabled: ider.enabled, iderinfo: ider.iderinfo });
  redir.onStateChanged = (_, state) => {
    emit({ event: "state", state });
    if (state === 0) finish(redir, stats());
  };
  commands(() => {}, () => finish(redir, stats()));
  redir.Start(nodeid);
}

// --- wsman ----------------------------------------------------------------------------------

function runWsman(args) {
  // MeshCentral's server-side WS-Man stack, as its amtmanager.js builds it for a device on the LAN:
  // the HTTP/digest transport, the SOAP layer with its XML parser, and the AMT object model.
  const CreateWsmanComm = require(path.join(MESHCENTRAL, "amt", "amt-wsman-comm.js"));
  const WsmanStackCreateService = require(path.join(MESHCENTRAL, "amt", "amt-wsman.js"));
  const AmtStackCreateService = require(path.join(MESHCENTRAL, "amt", "amt.js"));
  const comm = CreateWsmanComm(args.host, args.port, args.user, args.password, args.tls ? 1 : 0);
  // Over TLS MeshCentral pins the device's certificate by its hash, as amtmanager.js does (--pin).
  if (args.tls) comm.xtlsFingerprint = args.pin === undefined ? 0 : args.pin;
  const amtstack = AmtStackCreateService(WsmanStackCreateService(comm));
  // Note: MeshCentral's XML reader (amt-xml.js) takes an empty element only as <x></x> or <x />,
  // which is how real AMT writes them (<g:EndOfSequence></g:EndOfSequence>); the simulator once
  // wrote <g:EndOfSequence/> and every finished enumeration came back as status 601.
  // Commands, one at a time as the stack queues them; each answer is one "reply" event.
  //   {"enum": ["CIM_ServiceAvailableToElement", "*AMT_GeneralSettings"]}  BatchEnum ("*" = Get)
  //   {"power": 2}                                                         RequestPowerStateChange
  //   {"get": "AMT_BootSettingData"}                                       Get
  //   {"put": ["AMT_BootSettingData", {...}]}                              Put (the stack writes the XML)
  //   {"exec": ["CIM_BootService", "RequestStateChange", {...}]}            Invoke a method
  //   {"bootorder": "Intel(r) AMT: Force PXE Boot"} or {"bootorder": null}  ChangeBootOrder
  //   {"role": 1}                                                          SetBootConfigRole
  const reply = (command) => (_stack, _name, responses, status) =>
    emit({ event: "reply", command, status, responses: responses === undefined ? null : responses });
  commands((command) => {
    if (command.enum !== undefined) amtstack.BatchEnum(null, command.enum, reply(command), null, true);
    if (command.power !== undefined) amtstack.RequestPowerStateChange(command.power, reply(command));
    if (command.get !== undefined) amtstack.Get(command.get, reply(command), 0, 1);
    if (command.put !== undefined) amtstack.Put(command.put[0], command.put[1], reply(command), 0, 1);
    if (command.exec !== undefined) amtstack.Exec(...command.exec, reply(command));
    if (command.role !== undefined) amtstack.SetBootConfigRole(command.role, reply(command));
    if (command.bootorder !== undefined) {
      // The Source argument as MeshCentral passes it: an EPR written out as XML text (or none).
      const source = command.bootorder === null ? null :
        '<Address xmlns="http://schemas.xmlsoap.org/ws/2004/08/addressing">' +
        "http://schemas.xmlsoap.org/ws/2004/08/addressing</Address>" +
        '<ReferenceParameters xmlns="http://schemas.xmlsoap.org/ws/2004/08/addressing">' +
        '<ResourceURI xmlns="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd">' +
        "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_BootSourceSetting</ResourceURI>" +
        '<SelectorSet xmlns="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd">' +
        `<Selector Name="InstanceID">${command.bootorder}</Selector></SelectorSet></ReferenceParameters>`;
      amtstack.CIM_BootConfigSetting_ChangeBootOrder(source, reply(command));
    }
  }, () => {
    emit({ event: "exit", stats: {} });
    process.stdout.write("", () => process.exit(0));
  });
  emit({ event: "state", state: 3 });
}

// --- both -----------------------------------------------------------------------------------

let finished = false;
function finish(redir, stats) {
  if (finished) return;
  finished = true;
  try { redir.Stop(); } catch (err) { /* already stopped */ }
  emit({ event: "exit", stats });
  process.stdout.write("", () => process.exit(0));
}

function commands(onCommand, onEnd) {
  const lines = readline.createInterface({ input: process.stdin });
  lines.on("line", (line) => {
    if (!line.trim()) return;
    const command = JSON.parse(line);
    if (command.quit) { onEnd(); return; }
    onCommand(command);
  });
  lines.on("close", onEnd);
}

function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    emit({ event: "error", message: err.message });
    process.exit(2);
  }
  if (args.mode === "sol") runSol(args);
  else if (args.mode === "ider") runIder(args);
  else runWsman(args);
}

main();
