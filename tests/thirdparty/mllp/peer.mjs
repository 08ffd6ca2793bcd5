// Real MLLP peers from npm, driven from the Python tests (nobody here wrote their HL7 behaviour).
//
//   node peer.mjs receive --impl medplum [--host 127.0.0.1] [--port 0]
//     @medplum/hl7 Hl7Connection on a loopback listener; answers each message with Hl7Message.buildAck().
//     Prints {"host","port"} once listening, then one {"received": "<ER7>"} line per message.
//   node peer.mjs send --impl medplum|simple-hl7 --host H --port P  < messages.json
//     Sends each ER7 message of the JSON array on stdin (@medplum/hl7 Hl7Client.sendAndWait, or the
//     simple-hl7 TCP client), one at a time; prints one {"index", "ack"} or {"index", "error"} line each.
// (The `hl7` npm package is a parser only: it has no MLLP client, so simple-hl7's client stands in.)
import net from 'node:net';
import { createRequire } from 'node:module';
import { Hl7Message } from '@medplum/core';
import { Hl7Client, Hl7Connection } from '@medplum/hl7';

const require = createRequire(import.meta.url);
const mode = process.argv[2];

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 && index + 1 < process.argv.length ? process.argv[index + 1] : fallback;
}

function emit(object) {
  process.stdout.write(JSON.stringify(object) + '\n');
}

const impl = option('impl', 'medplum');
const host = option('host', '127.0.0.1');
const port = Number(option('port', '0'));
const timeoutMs = Number(option('timeout', '10000'));

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

function receive() {
  if (!(host === 'localhost' || host.startsWith('127.') || host === '::1')) {
    console.error(`refusing to bind ${host}: loopback only`);
    process.exit(2);
  }
  const server = net.createServer((socket) => {
    const connection = new Hl7Connection(socket, 'utf-8');
    connection.addEventListener('message', (event) => {
      emit({ received: event.message.toString() });
      connection.send(event.message.buildAck());
    });
    connection.addEventListener('error', (event) => emit({ error: String(event?.error?.message ?? event) }));
  });
  server.listen(port, host, () => emit({ host, port: server.address().port }));
  for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
}

async function sendMedplum(messages) {
  const client = new Hl7Client({ host, port, encoding: 'utf-8', connectTimeout: timeoutMs });
  for (const [index, text] of messages.entries()) {
    try {
      const ack = await client.sendAndWait(Hl7Message.parse(text), { timeoutMs });
      emit({ index, ack: ack.toString() });
    } catch (err) {
      emit({ index, error: String(err?.message ?? err) });
    }
  }
  await client.close();
}

function sendOneSimple(text) {
  const hl7 = require('simple-hl7');
  return new Promise((resolve) => {
    const client = hl7.Server.createTcpClient({ host, port, keepalive: false });
    const timer = setTimeout(() => {
      client.close?.();
      resolve({ error: `no ACK within ${timeoutMs} ms` });
    }, timeoutMs);
    client.send(text, (err, ack) => {
      clearTimeout(timer);
      resolve(err ? { error: String(err?.message ?? err) } : { ack: ack.toString() });
    });
  });
}

async function sendSimple(messages) {
  for (const [index, text] of messages.entries()) {
    emit({ index, ...(await sendOneSimple(text)) });
  }
}

if (mode === 'receive') {
  receive();
} else if (mode === 'send') {
  const messages = await readStdin();
  await (impl === 'simple-hl7' ? sendSimple(messages) : sendMedplum(messages));
  process.exit(0);
} else {
  console.error('usage: peer.mjs receive|send --impl medplum|simple-hl7 ...');
  process.exit(2);
}
