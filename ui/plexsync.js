/*
 * PlexSync on Stash's scene page: a "PlexSync" tab that says whether the scene
 * is in Plex (with an "Open in Plex" link for each item), when it was synced
 * and what was written, why it is not (waiting for a Plex scan, outside every
 * Plex library and the path rule that would fix it, a dead letter and its
 * reason), whether a sync is queued or running, the plays, resume point and
 * rating last copied from Plex, and "Sync now" / "Copy from Plex now".
 *
 * Plain JavaScript over window.PluginApi (no build step): Stash serves this
 * file, concatenated with the plugin's other `ui.javascript` files, at
 * /plugin/StashPlexSync/javascript, and its UI appends one <script> per plugin
 * once it knows the plugins (ui/v2.5/src/plugins.tsx), so this runs before
 * the scene page's code may have loaded (it is code-split): everything is
 * looked up at render time, never at load time.
 *
 * What Stash's source says (stashapp/stash cf3489e, ui/v2.5/src):
 * - pluginApi.tsx: PluginApi.React is React 17; PluginApi.libraries.Bootstrap
 *   is react-bootstrap 1.6 (Nav, Tab); PluginApi.patch.before/instead/after.
 * - patch.tsx: a patched component is a Proxy; each "before" function gets the
 *   render arguments (props, and React's second argument) and must return the
 *   new argument list; patches registered under a name no component has are
 *   kept and never called, so a renamed component costs nothing but the tab.
 * - components/Scenes/SceneDetails/Scene.tsx: the scene page's tab bar is
 *   wrapped in the container component "ScenePage.Tabs" and its panes in
 *   "ScenePage.TabContent", both given the page's props (props.scene); they
 *   render only props.children (both since v0.28, stashapp/stash#5703). Stash's own example plugin
 *   (pkg/plugin/examples/react-component) adds a tab through these two.
 *   A Tab.Pane renders its children while hidden, so the panel asks the plugin
 *   when the page opens, once, and the tab title shows the state at a glance.
 * - The plugin is run with the GraphQL mutation runPluginOperation(plugin_id,
 *   args): the entry script gets the usual stdin JSON with `args` as given and
 *   its `output` is the mutation's answer; its `error` comes back as the
 *   GraphQL error (pkg/plugin/plugins.go RunPlugin). Community plugins call
 *   /graphql with fetch, as here; the session cookie goes with it.
 *
 * Defensive: every PluginApi use is checked; the patches catch their own
 * errors and hand Stash its arguments back untouched; the panel renders inside
 * an error boundary, so a failure of ours leaves Stash's page as it was. The
 * sync itself (hooks, worker) does not depend on any of this.
 */
(function () {
  "use strict";

  var PLUGIN_ID = "StashPlexSync";
  var TAB_KEY = "plexsync-panel";
  //: A sync or copy asked for from the panel is followed this long, then left to the worker.
  var FOLLOW_MS = 90000;
  var POLL_MS = 1500;

  function warn(message, error) {
    if (window.console && window.console.warn) window.console.warn("PlexSync: " + message, error || "");
  }

  var api = window.PluginApi;
  if (!api || !api.React || !api.patch || typeof api.patch.before !== "function") {
    warn("this Stash's PluginApi has no React or no patch.before: the scene page's PlexSync tab is not shown");
    return;
  }
  var React = api.React;
  var h = React.createElement;
  var Bootstrap = api.libraries && api.libraries.Bootstrap;
  var Nav = Bootstrap && Bootstrap.Nav;
  var Tab = Bootstrap && Bootstrap.Tab;
  if (!Nav || !Nav.Item || !Nav.Link || !Tab || !Tab.Pane) {
    warn("this Stash's PluginApi has no Bootstrap Nav and Tab: the scene page's PlexSync tab is not shown");
    return;
  }

  // -- asking the plugin -----------------------------------------------------------------
  var MUTATION = "mutation PlexSyncPanel($args: Map) { runPluginOperation(plugin_id: \"" + PLUGIN_ID + "\", args: $args) }";

  function graphqlUrl() {
    try {
      return new URL("graphql", document.baseURI).href; // Stash's <base href> carries its base URL
    } catch (e) {
      return "/graphql";
    }
  }

  //: The plugin's "error" when its packages are not installed (yet): stash_plugin.py and
  //: plexsync/plugin/protocol.py say "not set up"; an installer may say "setting up".
  var SETTING_UP = /not set up|setting up|being set up|installing/i;

  function problem(kind, message) {
    return { problem: kind, message: String(message || "").slice(0, 500) };
  }

  /** One plugin run: resolves to {data} (the panel's facts) or {problem, message}; never rejects. */
  function operation(mode, sceneId) {
    var body = JSON.stringify({
      operationName: "PlexSyncPanel",
      query: MUTATION,
      variables: { args: { mode: mode, scene_id: String(sceneId) } },
    });
    return fetch(graphqlUrl(), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: body,
    })
      .then(function (response) {
        return response.json().then(
          function (answer) {
            return answer;
          },
          function () {
            return { errors: [{ message: "Stash answered HTTP " + response.status }] };
          }
        );
      })
      .then(
        function (answer) {
          var errors = answer && answer.errors;
          if (errors && errors.length) {
            var message = String(errors[0].message || "");
            if (SETTING_UP.test(message)) return problem("setup", message);
            return problem("error", message);
          }
          var output = answer && answer.data && answer.data.runPluginOperation;
          if (!output || typeof output !== "object" || typeof output.state !== "string") {
            return problem("error", "PlexSync's answer is not what this page expects (plugin and page versions differ?)");
          }
          return { data: output };
        },
        function (error) {
          return problem("unreachable", error && error.message);
        }
      );
  }

  // -- one answer per scene page, shared by the tab title and the panel -------------------
  var entries = {};

  function entryFor(sceneId) {
    var entry = entries[sceneId];
    if (!entry) {
      entry = entries[sceneId] = { result: null, listeners: [], busy: null, note: null };
      operation("scene_panel", sceneId).then(function (result) {
        entry.result = result;
        notify(entry);
      });
    }
    return entry;
  }

  function notify(entry) {
    entry.listeners.slice().forEach(function (fn) {
      fn();
    });
  }

  /** The scene's entry, re-rendering the caller when it changes; dropped when its page closes. */
  function useEntry(sceneId) {
    var tick = React.useState(0);
    var entry = sceneId ? entryFor(sceneId) : null;
    React.useEffect(
      function () {
        if (!sceneId) return undefined;
        var current = entryFor(sceneId);
        var listener = function () {
          tick[1](function (n) {
            return n + 1;
          });
        };
        current.listeners.push(listener);
        return function () {
          current.listeners.splice(current.listeners.indexOf(listener), 1);
          if (!current.listeners.length && entries[sceneId] === current) {
            current.closed = true;
            delete entries[sceneId];
          }
        };
      },
      [sceneId]
    );
    return entry;
  }

  function follow(entry, sceneId, kind) {
    var mode = kind === "sync" ? "scene_sync" : "scene_copy";
    entry.busy = kind;
    entry.note = kind === "sync" ? "Sync queued..." : "Copy from Plex queued...";
    notify(entry);
    operation(mode, sceneId).then(function (first) {
      if (first.problem) {
        entry.busy = null;
        entry.note = null;
        entry.result = first;
        notify(entry);
        return;
      }
      entry.result = first;
      var requestedAt = first.data.requested_at || first.data.now || 0;
      var started = Date.now();
      function done(data) {
        if (kind === "sync") {
          return !(data.job && data.job.length) && (data.sync_finished_at || 0) >= requestedAt;
        }
        return (data.playback_copied_at || 0) >= requestedAt;
      }
      function poll() {
        if (entry.closed) return;
        operation("scene_panel", sceneId).then(function (next) {
          if (entry.closed) return;
          if (!next.problem) entry.result = next;
          if (!next.problem && done(next.data)) {
            entry.busy = null;
            entry.note = kind === "sync" ? "Synced." : "Copied from Plex.";
          } else if (Date.now() - started > FOLLOW_MS) {
            entry.busy = null;
            entry.note = "Still not done: the worker goes on by itself; reopen the page later.";
          } else {
            window.setTimeout(poll, POLL_MS);
          }
          notify(entry);
        });
      }
      notify(entry);
      window.setTimeout(poll, POLL_MS);
    });
  }

  // -- rendering --------------------------------------------------------------------------
  class Guard extends React.Component {
    constructor(props) {
      super(props);
      this.state = { failed: false };
    }
    static getDerivedStateFromError() {
      return { failed: true };
    }
    componentDidCatch(error) {
      warn("the PlexSync tab failed; Stash's page goes on without it", error);
    }
    render() {
      return this.state.failed ? this.props.fallback || null : this.props.children;
    }
  }

  function stateOf(entry) {
    var result = entry && entry.result;
    if (!result) return "loading";
    if (result.problem) return result.problem === "setup" ? "setup" : "problem";
    return result.data.state;
  }

  function TabTitle(props) {
    var entry = useEntry(props.sceneId);
    var state = stateOf(entry);
    return h(
      "span",
      { className: "plexsync-tab-title" },
      "PlexSync",
      h("span", { className: "plexsync-dot plexsync-dot-" + state, title: state })
    );
  }

  function Rows(props) {
    if (!props.rows || !props.rows.length) return null;
    return h(
      "table",
      { className: "plexsync-rows table table-sm" },
      h(
        "tbody",
        null,
        props.rows.map(function (row, i) {
          return h("tr", { key: i }, h("th", { scope: "row" }, row[0]), h("td", null, row[1]));
        })
      )
    );
  }

  function Item(props) {
    var item = props.item;
    var where = item.libraries && item.libraries.length ? " in " + item.libraries.join(", ") : "";
    return h(
      "li",
      { className: "plexsync-item" },
      h("span", { className: "plexsync-item-name" }, "Plex item " + item.rating_key + where),
      " ",
      h("span", { className: "plexsync-item-how" }, "(" + item.how + ")"),
      " ",
      item.open_url
        ? h(
            "a",
            {
              className: "plexsync-open btn btn-sm btn-primary",
              href: item.open_url,
              target: "_blank",
              rel: "noopener noreferrer",
            },
            "Open in Plex"
          )
        : h("span", { className: "plexsync-muted" }, "(no link yet: the worker has not recorded the Plex server)"),
      item.app_url
        ? h(
            "a",
            { className: "plexsync-app-link", href: item.app_url, target: "_blank", rel: "noopener noreferrer" },
            "app.plex.tv"
          )
        : null
    );
  }

  function Problem(props) {
    var result = props.result;
    if (result.problem === "setup") {
      return h(
        "div",
        { className: "plexsync-panel plexsync-setup" },
        h("h5", null, "PlexSync is still setting up"),
        h("p", null, "Its packages are not installed yet; this tab fills in once they are."),
        h("p", { className: "plexsync-muted" }, result.message)
      );
    }
    var title = result.problem === "unreachable" ? "Stash did not answer" : "PlexSync could not answer";
    return h(
      "div",
      { className: "plexsync-panel plexsync-problem" },
      h("h5", null, title),
      h("p", { className: "plexsync-muted" }, result.message)
    );
  }

  function Panel(props) {
    var entry = useEntry(props.sceneId);
    var result = entry && entry.result;
    if (!result) {
      return h("div", { className: "plexsync-panel plexsync-loading" }, "Asking PlexSync...");
    }
    if (result.problem) return h(Problem, { result: result });
    var data = result.data;
    var worker = data.worker;
    var button = function (kind, label) {
      return h(
        "button",
        {
          type: "button",
          className: "btn btn-secondary btn-sm plexsync-" + kind,
          disabled: !!entry.busy,
          onClick: function () {
            follow(entry, props.sceneId, kind);
          },
        },
        label
      );
    };
    return h(
      "div",
      { className: "plexsync-panel", "data-state": data.state },
      h(
        "div",
        { className: "plexsync-head" },
        h("span", { className: "plexsync-badge plexsync-badge-" + data.state }, data.label),
        h("span", { className: "plexsync-headline" }, data.headline)
      ),
      worker && worker.note ? h("div", { className: "plexsync-worker alert alert-warning" }, worker.note) : null,
      data.items && data.items.length
        ? h(
            "ul",
            { className: "plexsync-items" },
            data.items.map(function (item) {
              return h(Item, { key: item.rating_key, item: item });
            })
          )
        : null,
      h(
        "div",
        { className: "plexsync-actions" },
        button("sync", "Sync now"),
        " ",
        button("copy", "Copy from Plex now"),
        entry.note ? h("span", { className: "plexsync-note" }, entry.note) : null
      ),
      h("h6", { className: "plexsync-section" }, "From Plex"),
      data.playback && data.playback.length
        ? h(Rows, { rows: data.playback })
        : h("p", { className: "plexsync-muted plexsync-no-playback" }, "Nothing copied from Plex yet."),
      h("h6", { className: "plexsync-section" }, "Details"),
      h(Rows, { rows: data.details }),
      data.report
        ? h(
            "details",
            { className: "plexsync-report" },
            h("summary", null, "Full report (for a bug report)"),
            h("pre", null, data.report)
          )
        : null
    );
  }

  function sceneIdOf(props) {
    var scene = props && props.scene;
    return scene && scene.id != null ? String(scene.id) : null;
  }

  /** A "before" patch that adds ``extra`` after the container's children; Stash's arguments back on any failure. */
  function addChild(name, extra) {
    api.patch.before(name, function (props) {
      var args = Array.prototype.slice.call(arguments);
      try {
        var sceneId = sceneIdOf(props);
        if (!sceneId) return args;
        var added = h(Guard, { key: "plexsync" }, extra(sceneId));
        var changed = Object.assign({}, props, { children: h(React.Fragment, null, props.children, added) });
        return [changed].concat(args.slice(1));
      } catch (error) {
        warn("could not add to " + name, error);
        return args;
      }
    });
  }

  try {
    addChild("ScenePage.Tabs", function (sceneId) {
      return h(Nav.Item, null, h(Nav.Link, { eventKey: TAB_KEY }, h(TabTitle, { sceneId: sceneId })));
    });
    addChild("ScenePage.TabContent", function (sceneId) {
      return h(
        Tab.Pane,
        { eventKey: TAB_KEY },
        h(Guard, { fallback: h("div", { className: "plexsync-panel" }, "The PlexSync tab failed (see the browser console).") },
          h(Panel, { sceneId: sceneId }))
      );
    });
  } catch (error) {
    warn("could not patch the scene page", error);
  }
})();
