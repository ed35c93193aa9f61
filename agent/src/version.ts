/** The agent's version, sent in `hello`. Kept in step with package.json by the release step. */
export const AGENT_VERSION = '0.1.0';
