/** Each kind of failure (the backend's `error_type` and error `code`) in plain words, with the
 * runbook that helps. One table, so the calls list, the call dialog, the agent's health note and
 * error messages always send people to the same place. */

export interface ErrorKind {
  /** What happened, as a sentence. */
  words: string
  /** The runbook (`/runbooks/<slug>`) that helps, if any. */
  runbook?: string
}

export const ERROR_KINDS: Record<string, ErrorKind> = {
  auth: { words: 'HiAgent did not accept the app key.', runbook: 'app-key-rejected' },
  connect: { words: 'HiAgent could not be reached.', runbook: 'hiagent-unreachable' },
  timeout: { words: 'The answer took longer than the time allowed.', runbook: 'slow-answers' },
  rate_limited: { words: 'HiAgent asked us to slow down: too many calls in a short time.', runbook: 'requests-waiting' },
  upstream_error: { words: 'HiAgent could not handle the call.', runbook: 'hiagent-unreachable' },
  bad_answer: { words: 'HiAgent sent an answer that could not be read.', runbook: 'hiagent-unreachable' },
  agent_failed: { words: 'The agent on HiAgent could not finish its answer.', runbook: 'high-error-rate' },
  workflow_failed: { words: 'The workflow on HiAgent stopped with an error.', runbook: 'high-error-rate' },
  tool_failed: { words: 'The tool on HiAgent failed.', runbook: 'high-error-rate' },
  circuit_open: { words: 'Calls to this agent were paused after repeated failures.', runbook: 'agent-paused' },
  busy: { words: 'Too many calls to this agent at the same time.', runbook: 'requests-waiting' },
  not_configured: { words: 'This service is not connected to HiAgent yet.', runbook: 'hiagent-unreachable' },
  internal: { words: 'Something went wrong on our side.', runbook: 'high-error-rate' },
  disabled: { words: 'The agent is turned off, so the call was not made. Turn it on in its settings.' },
  wrong_type: { words: 'The app called this agent the wrong way for its type.' },
}

/** The error codes of the API's error answers, mapped to the kind they stand for. */
const KIND_OF_CODE: Record<string, string> = {
  hiagent_unreachable: 'connect',
  hiagent_timeout: 'timeout',
  hiagent_rate_limited: 'rate_limited',
  hiagent_error: 'upstream_error',
  hiagent_auth_failed: 'auth',
  hiagent_bad_answer: 'bad_answer',
  hiagent_not_configured: 'not_configured',
  agent_failed: 'agent_failed',
  workflow_failed: 'workflow_failed',
  tool_failed: 'tool_failed',
  circuit_open: 'circuit_open',
  busy: 'busy',
  internal_error: 'internal',
}

/** Which runbook helps with an error answer, by its code. */
export const RUNBOOK_FOR: Record<string, string> = Object.fromEntries(
  Object.entries(KIND_OF_CODE).flatMap(([code, kind]) => {
    const runbook = ERROR_KINDS[kind]?.runbook
    return runbook ? [[code, runbook]] : []
  }),
)
RUNBOOK_FOR.service_unavailable = 'hiagent-unreachable'

export function errorKind(errorType: string | null | undefined): ErrorKind | undefined {
  return errorType ? ERROR_KINDS[errorType] : undefined
}
