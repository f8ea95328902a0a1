// The peer of `cargo xtask bench server`: @tus/server with @tus/file-store,
// configured as in @tus/server's README (standalone, files on disk), on
// 127.0.0.1:<port>. Prints "listening <port>" when ready.
//
// usage: node tus_server.mjs <port> <directory>

import { FileStore } from "@tus/file-store";
import { Server } from "@tus/server";

const [port, directory] = process.argv.slice(2);
if (!port || !directory) {
  console.error("usage: node tus_server.mjs <port> <directory>");
  process.exit(2);
}

const server = new Server({
  path: "/files",
  datastore: new FileStore({ directory }),
});
const http = server.listen({ host: "127.0.0.1", port: Number(port) }, () => {
  console.log(`listening ${http.address().port}`);
});
process.on("SIGTERM", () => http.close(() => process.exit(0)));
