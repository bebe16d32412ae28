/** Typed errors of the check runners; messages start with "checks:". */
export class ChecksError extends Error {
  override name = 'ChecksError';
}

/** A script check was requested while script checks are not enabled on this agent. */
export class ScriptChecksDisabledError extends ChecksError {
  override name = 'ScriptChecksDisabledError';
  constructor(readonly checkId: string) {
    super(
      `checks: script checks are disabled; refusing to run check "${checkId}" ` +
        '(set enable_script_checks, or enable_local_script_checks for checks from config files)',
    );
  }
}
