"""Where in CI this run is, from the variables each CI system sets; None outside CI."""

from .outcomes import head_units, text

# (provider, variable that says we are in it, {field: variables tried in order}); url may be a function of env.
_PROVIDERS = (
    (
        "github-actions",
        "GITHUB_ACTIONS",
        {
            "run_id": ("GITHUB_RUN_ID",),
            "job": ("GITHUB_JOB",),
            "commit": ("GITHUB_SHA",),
            # On a pull request GITHUB_REF_NAME is "123/merge"; the head branch says more.
            "branch": ("GITHUB_HEAD_REF", "GITHUB_REF_NAME"),
        },
    ),
    (
        "gitlab",
        "GITLAB_CI",
        {
            "run_id": ("CI_PIPELINE_ID",),
            "job": ("CI_JOB_NAME",),
            "commit": ("CI_COMMIT_SHA",),
            "branch": ("CI_COMMIT_REF_NAME",),
            "url": ("CI_JOB_URL",),
        },
    ),
    (
        "jenkins",
        "JENKINS_URL",
        {
            "run_id": ("BUILD_ID", "BUILD_NUMBER"),
            "job": ("JOB_NAME",),
            "commit": ("GIT_COMMIT",),
            "branch": ("GIT_BRANCH", "BRANCH_NAME"),
            "url": ("BUILD_URL",),
        },
    ),
    (
        "buildkite",
        "BUILDKITE",
        {
            "run_id": ("BUILDKITE_BUILD_ID",),
            "job": ("BUILDKITE_LABEL", "BUILDKITE_STEP_KEY"),
            "commit": ("BUILDKITE_COMMIT",),
            "branch": ("BUILDKITE_BRANCH",),
            "url": ("BUILDKITE_BUILD_URL",),
        },
    ),
    (
        "circleci",
        "CIRCLECI",
        {
            "run_id": ("CIRCLE_WORKFLOW_ID", "CIRCLE_BUILD_NUM"),
            "job": ("CIRCLE_JOB",),
            "commit": ("CIRCLE_SHA1",),
            "branch": ("CIRCLE_BRANCH",),
            "url": ("CIRCLE_BUILD_URL",),
        },
    ),
)

# The server's bounds on each field, in UTF-16 units (longer is refused, and a refused start loses the session).
BOUNDS = {"provider": 128, "run_id": 128, "job": 128, "commit": 128, "branch": 512, "url": 2048}


def detect_ci(env):
    for provider, marker, fields in _PROVIDERS:
        if env.get(marker, "").strip().lower() in ("", "false", "0"):
            continue
        ci = {"provider": provider}
        for field, names in fields.items():
            value = next((env[name] for name in names if env.get(name)), None)
            if value:
                ci[field] = value
        if provider == "github-actions" and all(env.get(n) for n in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")):
            ci["url"] = "%s/%s/actions/runs/%s" % (env["GITHUB_SERVER_URL"].rstrip("/"), env["GITHUB_REPOSITORY"], env["GITHUB_RUN_ID"])
        # A variable of undecodable bytes is a str with lone surrogates, which JSON cannot encode as UTF-8.
        return {field: head_units(text(value), BOUNDS[field]) for field, value in ci.items()}
    return None
