// Drive pocketftpd over explicit FTPS with Node's basic-ftp; exits non-zero
// on any failure.
//
// usage: node basic_ftp_client.js PORT LOCALDIR CAFILE
//   uploads every file of LOCALDIR/up (PROT P, passive), checks that LIST
//   names each with its size, downloads each into LOCALDIR/down. The server's
//   certificate must verify against CAFILE (host 127.0.0.1 in its SAN).

"use strict";

const fs = require("fs");
const path = require("path");
const ftp = require("basic-ftp");

async function main() {
  const [port, local, cafile] = process.argv.slice(2);
  const client = new ftp.Client(20000);
  try {
    await client.access({
      host: "127.0.0.1",
      port: Number(port),
      user: "anonymous",
      password: "x",
      secure: true,
      secureOptions: { ca: fs.readFileSync(cafile) },
    });
    const up = path.join(local, "up");
    const names = fs.readdirSync(up).sort();
    for (const name of names) {
      await client.uploadFrom(path.join(up, name), name);
    }
    const listed = new Map((await client.list()).map((f) => [f.name, f.size]));
    for (const name of names) {
      const size = fs.statSync(path.join(up, name)).size;
      if (listed.get(name) !== size) {
        throw new Error(`LIST shows ${name} with ${listed.get(name)} bytes, not ${size}`);
      }
    }
    for (const name of names) {
      await client.downloadTo(path.join(local, "down", name), name);
    }
  } finally {
    client.close();
  }
}

main().then(
  () => console.log("ok basic-ftp"),
  (err) => {
    console.error(err);
    process.exit(1);
  }
);
