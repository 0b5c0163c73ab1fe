// The wizard page's own state, in one object: read and changed by setup.js (the page),
// wizard_steps.js (moving between steps), connection_test.js (step 2) and wizard_run.js (step 4).

export const state = {
  step: 1, // the step shown: 1 server, 2 test connection, 3 options, 4 run
  entered: false, // focus moves only on a person's step changes, not on the first paint
  formErrorKey: null, // the form error's i18n key, re-rendered on language change
  report: null, // the last test-connection answer
  prefill: null, // what is saved for this server's sudo (GET /api/servers/sudo/prefill)
  running: false, // a run is shown live (started here, or reattached)
  sessionId: null, // the session in the run panel
  timer: null, // the run panel's once-a-second redraw
  conflictSession: null, // the session holding the server after a 409
};
