#!/usr/bin/env node
// Run MeshCommander's Intel AMT KVM viewer, as MeshCentral ships it on npm, against a device on
// loopback (here `amtterm sim`), with a TCP socket where it expects a WebSocket and a small
// in-memory canvas where it expects a browser's.
//
// The MeshCentral files are loaded from node_modules at run time (`npm ci` in this folder);
// nothing of them is copied into this repository. This file is only the harness around them:
//
//   public/scripts/amt-redir-ws-0.1.0.js   the redirection transport (KVMR session, digest auth)
//   public/scripts/amt-desktop-0.0.2.js    the KVM viewer (RFB, MeshCommander's ZRLE "RLE" decoder)
//   public/scripts/zlib*.js                the inflater the viewer uses
//   public/scripts/amt-0.2.0.js, common-0.0.1.js   hex_md5 and the byte helpers
//
// Usage (the password comes from AMT_PASSWORD, never from argv):
//   node meshcommander_kvm.js --host 127.0.0.1 --port N [--tls] [--user admin]
//
// Output: one JSON object per line on stdout, {"event": ...}:
//   {"event":"state","state":N}               the transport's state (0 closed .. 3 session up)
//   {"event":"frame","width":W,"height":H,"updates":N,"nonblack":K}
//                                             after updates: the canvas size, updates drawn so far,
//                                             and how many of its pixels are not black
//   {"event":"dumped","path":P,"width":W,"height":H}   the canvas written as a binary PPM
//   {"event":"exit","stats":{...}}            before exiting
// Input: one JSON object per line on stdin:
//   {"key": 65535}            a key press and release, as an X keysym (what the viewer sends)
//   {"dump": "/path.ppm"}     write the canvas as it is now
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
  const args = { host: "127.0.0.1", user: "admin", tls: false };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i];
    if (name === "--tls") { args.tls = true; continue; }
    const value = argv[++i];
    if (value === undefined) throw new Error(`${name} needs a value`);
    if (name === "--host") args.host = value;
    else if (name === "--port") args.port = Number(value);
    else if (name === "--user") args.user = value;
    else throw new Error(`unknown option ${name}`);
  }
  if (!Number.isInteger(args.port)) throw new Error("--port is required");
  args.password = process.env.AMT_PASSWORD;
  if (!args.password) throw new Error("AMT_PASSWORD is not set");
  return args;
}

// The web relay: a WebSocket whose far end is a TCP (or TLS) connection to the host and port in
// its URL, as MeshCentral's webrelay.ashx is.
class RelayWebSocket {
  constructor(url) {
    const query = new URL(url, "http://relay/").searchParams;
    this.readyState = RelayWebSocket.CONNECTING;
    this.binaryType = "blob";
    this.onopen = this.onmessage = this.onclose = null;
    const host = query.get("host");
    const port = Number(query.get("port"));
    const opened = () => {
      this.readyState = RelayWebSocket.OPEN;
      if (this.onopen) this.onopen({});
    };
    this.socket = query.get("tls") === "1"
      ? tls.connect({ port, host, rejectUnauthorized: false, minVersion: "TLSv1" }, opened)
      : net.connect(port, host, opened);
    this.socket.setNoDelay(true);
    this.socket.on("data", (chunk) => {
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

// The parts of a browser's 2D canvas the viewer draws with: image data, putImageData, fillRect.
class Canvas2D {
  constructor() {
    this.canvas = { width: 640, height: 400 };
    this.fillStyle = "#000000";
    this.pixels = null;
    this.pw = this.ph = 0;
  }

  surface() {
    const { width, height } = this.canvas;
    if (this.pixels === null || this.pw !== width || this.ph !== height) {
      // Like a browser, a canvas whose size was set is cleared (transparent black).
      this.pixels = new Uint8ClampedArray(width * height * 4);
      this.pw = width;
      this.ph = height;
    }
    return this.pixels;
  }

  createImageData(width, height) {
    return { width, height, data: new Uint8ClampedArray(width * height * 4) };
  }

  putImageData(image, x, y) {
    const out = this.surface();
    for (let row = 0; row < image.height; row++) {
      const ty = y + row;
      if (ty < 0 || ty >= this.ph) continue;
      for (let col = 0; col < image.width; col++) {
        const tx = x + col;
        if (tx < 0 || tx >= this.pw) continue;
        const s = (row * image.width + col) * 4;
        const t = (ty * this.pw + tx) * 4;
        out[t] = image.data[s]; out[t + 1] = image.data[s + 1]; out[t + 2] = image.data[s + 2]; out[t + 3] = 255;
      }
    }
  }

  fillRect(x, y, width, height) {
    const out = this.surface();
    let rgb = [0, 0, 0];
    const m = /rgb\((\d+),\s*(\d+),\s*(\d+)\)/.exec(this.fillStyle);
    if (m) rgb = [Number(m[1]), Number(m[2]), Number(m[3])];
    else if (/^#[0-9a-f]{6}$/i.test(this.fillStyle)) rgb = [1, 3, 5].map((i) => parseInt(this.fillStyle.substr(i, 2), 16));
    for (let ty = Math.max(0, y); ty < Math.min(this.ph, y + height); ty++) {
      for (let tx = Math.max(0, x); tx < Math.min(this.pw, x + width); tx++) {
        const t = (ty * this.pw + tx) * 4;
        out[t] = rgb[0]; out[t + 1] = rgb[1]; out[t + 2] = rgb[2]; out[t + 3] = 255;
      }
    }
  }

  nonBlack() {
    const out = this.surface();
    let count = 0;
    for (let i = 0; i < out.length; i += 4) if (out[i] || out[i + 1] || out[i + 2]) count++;
    return count;
  }

  ppm() {
    const out = this.surface();
    const rgb = Buffer.alloc(this.pw * this.ph * 3);
    for (let i = 0, j = 0; i < out.length; i += 4, j += 3) { rgb[j] = out[i]; rgb[j + 1] = out[i + 1]; rgb[j + 2] = out[i + 2]; }
    return Buffer.concat([Buffer.from(`P6\n${this.pw} ${this.ph}\n255\n`), rgb]);
  }
}

function loadBrowserScripts(context2d) {
  const element = { style: {}, getContext: () => context2d };
  globalThis.document = { getElementById: () => element, addEventListener: () => {}, removeEventListener: () => {} };
  globalThis.window = {
    location: { protocol: "http:", host: "relay", pathname: "/commander.htm", href: "http://relay/commander.htm" },
    document: globalThis.document,
    addEventListener: () => {},
    removeEventListener: () => {},
  };
  globalThis.WebSocket = RelayWebSocket;
  const files = ["common-0.0.1.js", "amt-0.2.0.js", "amt-redir-ws-0.1.0.js", "zlib.js", "zlib-inflate.js",
    "zlib-adler32.js", "zlib-crc32.js", "amt-desktop-0.0.2.js"];
  for (const file of files) {
    const full = path.join(MESHCENTRAL, "public", "scripts", file);
    vm.runInThisContext(fs.readFileSync(full, "utf8"), { filename: full });
  }
}

let finished = false;
function finish(redir, stats) {
  if (finished) return;
  finished = true;
  try { redir.Stop(); } catch (err) { /* already stopped */ }
  emit({ event: "exit", stats });
  process.stdout.write("", () => process.exit(0));
}

function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    emit({ event: "error", message: err.message });
    process.exit(2);
  }
  const context2d = new Canvas2D();
  loadBrowserScripts(context2d);
  // As MeshCommander's page does: a desktop on a canvas, inside the redirection transport.
  const desktop = globalThis.CreateAmtRemoteDesktop("Desk");
  const redir = globalThis.CreateAmtRedirect(desktop, null);
  // The viewer asks for the next incremental update (03 01 ...) once after ServerInit and then
  // after drawing each update: those requests count the updates it has drawn.
  let requests = 0;
  let updates = 0;
  let timer = null;
  const send = desktop.send;
  desktop.send = function (x) {
    if (typeof x === "string" && x.charCodeAt(0) === 3 && x.charCodeAt(1) === 1) requests++;
    return send.apply(this, arguments);
  };
  const process_ = desktop.ProcessBinaryData;
  desktop.ProcessBinaryData = function (data) {
    process_.apply(this, arguments);
    updates = Math.max(0, requests - 1);
    if (timer === null && updates > 0) {
      timer = setTimeout(() => {
        timer = null;
        emit({ event: "frame", width: context2d.pw, height: context2d.ph, updates, nonblack: context2d.nonBlack() });
      }, 50);
    }
  };
  const stats = () => ({ received: redir.inDataCount, updates, width: desktop.width, height: desktop.height });
  redir.onStateChanged = (_, state) => {
    emit({ event: "state", state });
    if (state === 0) finish(redir, stats());
  };
  const lines = readline.createInterface({ input: process.stdin });
  lines.on("line", (line) => {
    if (!line.trim()) return;
    const command = JSON.parse(line);
    if (command.quit) { finish(redir, stats()); return; }
    if (command.key !== undefined) { desktop.sendkey(command.key, 1); desktop.sendkey(command.key, 0); }
    if (command.dump !== undefined) {
      fs.writeFileSync(command.dump, context2d.ppm());
      emit({ event: "dumped", path: command.dump, width: context2d.pw, height: context2d.ph });
    }
  });
  lines.on("close", () => finish(redir, stats()));
  redir.Start(args.host, args.port, args.user, args.password, args.tls ? 1 : 0);
}

main();
