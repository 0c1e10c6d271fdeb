/** Arguments the policy suites send where only their validity matters. */
export const environment = { os: 'Linux', python_version: '3.12.3' };
export const emptySummary = { total_tests: 0, passed: 0, failed: 0, skipped: 0, exitstatus: 0 };
