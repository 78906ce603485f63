#!/usr/bin/env bash
# The scheduled lock refresh of .github/workflows/images.yml (docs/ci.md, "The weekly refresh"),
# after `bakery lock --upgrade` (every package re-resolved within the pins of matrix.toml, the
# base image digests looked up again) and `bakery render` ran in the checkout of main:
#
#   lock-refresh.sh detect REPORT    did the locks, the base digests or the bake file change?
#                                    Writes changed=true|false to $GITHUB_OUTPUT and says so in
#                                    the job summary, with REPORT (what `bakery lock` printed).
#   lock-refresh.sh propose REPORT   commits the refreshed files on $BRANCH (forced: the branch
#                                    always holds one commit on top of main), pushes it with
#                                    $GH_TOKEN, writes sha=<that commit> to $GITHUB_OUTPUT, and
#                                    opens the pull request into $BASE or updates the open one
#                                    (when that fails: a warning, and the run goes on).
#
# Nothing here builds or publishes: the workflow's build jobs build that commit next and
# promote the edge names only; merging the pull request makes its locks main's.
set -euo pipefail

FILES=(locks docker-bake.hcl)

die() {
    echo "lock-refresh.sh: $*" >&2
    exit 1
}

report_block() {
    echo '```'
    cat "$1"
    echo '```'
}

detect() {
    local report=$1 changes
    changes=$(git status --porcelain -- "${FILES[@]}")
    if [ -z "$changes" ]; then
        echo "changed=false" >>"$GITHUB_OUTPUT"
        {
            echo "## Lock refresh: nothing changed"
            echo
            echo "The package locks and the base image digests are current: nothing is built or"
            echo "published by this run."
            echo
            report_block "$report"
        } >>"$GITHUB_STEP_SUMMARY"
        echo "nothing changed"
        return
    fi
    echo "changed=true" >>"$GITHUB_OUTPUT"
    {
        echo "## Lock refresh: the locks changed"
        echo
        echo "Committed on \`${BRANCH:-bakery/lock-refresh}\`, proposed as a pull request and uploaded"
        echo "as the artifact \`refreshed-locks\`. This run builds that commit, verifies and tests it,"
        echo "and publishes the edge names only; merging the pull request makes the locks main's."
        echo
        report_block "$report"
        echo
        echo "Changed files:"
        echo
        echo '```'
        echo "$changes"
        echo '```'
    } >>"$GITHUB_STEP_SUMMARY"
    printf 'changed:\n%s\n' "$changes"
}

propose() {
    local report=$1 auth body number
    : "${BRANCH:?BRANCH is required}" "${BASE:?BASE is required}" "${GH_TOKEN:?GH_TOKEN is required}"
    git config user.name "github-actions[bot]"
    git config user.email "41898282+github-actions[bot]@users.noreply.github.com"
    git switch --quiet --force-create "$BRANCH"
    git add --all -- "${FILES[@]}"
    git commit --quiet -m "Refresh the package locks and base image digests (bakery lock)" \
        -m "Written by the scheduled run of the images workflow, which builds this commit and publishes the edge names from it; merging makes these locks main's."
    # the checkout keeps no credentials: the token is handed to this one push only
    auth=$(printf 'x-access-token:%s' "$GH_TOKEN" | base64 -w0)
    git -c "http.https://github.com/.extraheader=AUTHORIZATION: basic ${auth}" \
        push --quiet --force origin "HEAD:refs/heads/${BRANCH}"
    echo "sha=$(git rev-parse HEAD)" >>"$GITHUB_OUTPUT"
    body=$(mktemp)
    {
        echo "The weekly refresh found newer locks. \`bakery lock --upgrade\` (every package"
        echo "re-resolved within the pins of matrix.toml, the base image digests looked up again)"
        echo "said:"
        echo
        report_block "$report"
        echo
        echo "The run that opened this builds this commit and, once every image is verified and"
        echo "tested, publishes the edge names from it. Merging makes these locks main's. Each"
        echo "change names the image layer it is in (1-cuda, 2-torch, 3-rest): devices download"
        echo "only the layers whose files changed."
    } >"$body"
    # The pull request is a proposal: when it cannot be opened (the repository does not allow
    # GitHub Actions to create pull requests, and no LOCK_REFRESH_TOKEN is set), the commit is
    # pushed all the same and this run still builds it and refreshes `edge` (security fixes
    # must not wait for a setting); the job summary says what to change.
    if ! open_pull_request "$body"; then
        echo "::warning title=lock refresh::the pull request from ${BRANCH} could not be opened or updated; the refreshed commit is built and published to edge anyway (docs/ci.md, \"The weekly refresh\")"
        {
            echo
            echo "**The pull request could not be opened or updated.** Allow it in the repository's"
            echo "settings (Actions, General: \"Allow GitHub Actions to create and approve pull"
            echo "requests\") or give the workflow a \`LOCK_REFRESH_TOKEN\` secret; until then open it"
            echo "by hand from \`${BRANCH}\`. The refreshed commit is built and published to edge."
        } >>"$GITHUB_STEP_SUMMARY"
    fi
    rm -f "$body"
}

open_pull_request() {
    local body=$1 number
    number=$(gh pr list --head "$BRANCH" --base "$BASE" --state open --json number \
        --jq '.[0].number // empty') || return 1
    if [ -n "$number" ]; then
        gh pr edit "$number" --body-file "$body" || return 1
        echo "updated pull request #${number}"
    else
        gh pr create --base "$BASE" --head "$BRANCH" \
            --title "Refresh the package locks and base image digests" --body-file "$body" \
            || return 1
    fi
}

[ "$#" -eq 2 ] || die "usage: lock-refresh.sh detect|propose REPORT"
[ -f "$2" ] || die "no report file $2"
case "$1" in
    detect) detect "$2" ;;
    propose) propose "$2" ;;
    *) die "unknown command '$1' (detect or propose)" ;;
esac
