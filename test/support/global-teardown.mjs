export default async function globalTeardown() {
  const pgServer = globalThis.__embeddedPg;
  if (pgServer) await pgServer.stop();
}
