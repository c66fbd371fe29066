/*
 * The emulated Stash UI: enough of Stash's own front end (stashapp/stash
 * cf3489e, ui/v2.5/src) to load a UI plugin the way Stash does and show it a
 * scene page the way Stash builds one.
 *
 * - window.PluginApi follows src/pluginApi.tsx: React, ReactDOM, GQL (empty:
 *   nothing here uses the generated client), libraries.Bootstrap
 *   (react-bootstrap 1.6.8, the version Stash pins), register.component,
 *   components, utils, hooks, patch.before/instead/after and Event.
 * - The patch registry is src/patch.tsx ported line by line: a patched
 *   component is a Proxy whose apply runs every "before" (each returns the new
 *   argument list), then the "instead" chain (each gets the next render
 *   function as its last argument) or the original, then every "after" (each
 *   gets the arguments plus the result). Patches are looked up at render time,
 *   so a plugin may register them before the component's module loads.
 * - Plugins load as src/plugins.tsx loads them: `plugins { id enabled requires
 *   paths { javascript css } }` over GraphQL, sorted by `requires`, one
 *   <script async=false defer> per URL appended to <head>, the page rendered
 *   once every script has loaded or failed.
 * - The scene page is src/components/Scenes/SceneDetails/Scene.tsx in
 *   miniature: ScenePage (patchable) renders a header, a toolbar and a
 *   Tab.Container whose Nav is wrapped in the container component
 *   "ScenePage.Tabs" and whose Tab.Content in "ScenePage.TabContent", both
 *   given the page's props ({...props}: scene and the rest).
 * - Event is src/hooks/event.ts; "stash:location" is dispatched on every
 *   location change, as App.tsx does.
 *
 * A test can ask for another Stash's PluginApi with query parameters:
 *   ?without=ScenePage.Tabs,ScenePage.TabContent  those containers are plain
 *       components, not patchable (as when a Stash version renames them);
 *   ?nobootstrap=1  PluginApi.libraries has no Bootstrap;
 *   ?nopatch=1      PluginApi has no patch namespace.
 */
(function () {
  "use strict";

  var React = window.React;
  var ReactDOM = window.ReactDOM;
  var RB = window.ReactBootstrap;
  var h = React.createElement;
  var params = new URLSearchParams(window.location.search);
  var without = (params.get("without") || "").split(",").filter(Boolean);

  // -- src/patch.tsx ---------------------------------------------------------------
  var components = {};
  var beforeFns = {};
  var insteadFns = {};
  var afterFns = {};

  function before(component, fn) {
    (beforeFns[component] = beforeFns[component] || []).push(fn);
  }
  function instead(component, fn) {
    (insteadFns[component] = insteadFns[component] || []).push(fn);
  }
  function after(component, fn) {
    (afterFns[component] = afterFns[component] || []).push(fn);
  }

  function RegisterComponent(component, fn) {
    if (components[component]) {
      throw new Error("Component " + component + " has already been registered");
    }
    components[component] = fn;
    return fn;
  }

  function runInstead(fns, targetFn, thisArg, argArray) {
    if (!fns.length) {
      return targetFn.apply(thisArg, argArray);
    }
    var i = 1;
    function next() {
      if (i >= fns.length) {
        return targetFn;
      }
      var thisTarget = fns[i++];
      return new Proxy(thisTarget, {
        apply: function (target, ctx, args) {
          return target.apply(ctx, args.concat(next()));
        },
      });
    }
    return fns[0].apply(thisArg, argArray.concat(next()));
  }

  function PatchFunction(name, fn) {
    return new Proxy(fn, {
      apply: function (target, ctx, args) {
        var result;
        (beforeFns[name] || []).forEach(function (beforeFn) {
          args = beforeFn.apply(ctx, args);
        });
        if (insteadFns[name]) {
          result = runInstead(insteadFns[name], target, ctx, args);
        } else {
          result = target.apply(ctx, args);
        }
        (afterFns[name] || []).forEach(function (afterFn) {
          result = afterFn.apply(ctx, args.concat(result));
        });
        return result;
      },
    });
  }

  function PatchComponent(component, fn) {
    var ret = PatchFunction(component, fn);
    RegisterComponent(component, ret);
    return ret;
  }

  function PatchContainerComponent(component) {
    return PatchComponent(component, function (props) {
      return h(React.Fragment, null, props.children);
    });
  }

  // A container that no plugin can patch: what a renamed component is to a plugin.
  function container(name) {
    if (without.indexOf(name) >= 0) {
      return function (props) {
        return h(React.Fragment, null, props.children);
      };
    }
    return PatchContainerComponent(name);
  }

  // -- src/hooks/event.ts -------------------------------------------------------------
  class StashEvent extends EventTarget {
    dispatch(event, id, data) {
      event = "stash:" + event + (id ? ":" + id : "");
      var detail = { event: event };
      if (id) detail.id = id;
      if (data) detail.data = data;
      this.dispatchEvent(new CustomEvent(event, { detail: detail }));
    }
  }
  var Event = new StashEvent();

  // -- GraphQL (Stash's UI uses Apollo; plain fetch does the same requests) ------------
  function graphql(query, variables) {
    return fetch(new URL("graphql", document.baseURI).href, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ query: query, variables: variables || {} }),
    }).then(function (response) {
      return response.json();
    });
  }

  // -- navigation (react-router in Stash; location changes dispatch stash:location) ----
  var locationListeners = [];
  function navigate(path) {
    window.history.pushState({}, "", path);
    locationChanged();
  }
  function locationChanged() {
    locationListeners.forEach(function (fn) {
      fn(window.location.pathname);
    });
    Event.dispatch("location", "", { location: { pathname: window.location.pathname, search: window.location.search } });
  }
  window.addEventListener("popstate", locationChanged);
  function Link(props) {
    return h(
      "a",
      {
        href: props.to,
        className: props.className,
        onClick: function (e) {
          e.preventDefault();
          navigate(props.to);
        },
      },
      props.children
    );
  }

  // -- src/pluginApi.tsx ----------------------------------------------------------------
  var PluginApi = {
    React: React,
    ReactDOM: ReactDOM,
    GQL: {},
    libraries: { Bootstrap: RB },
    register: { component: RegisterComponent },
    loadableComponents: {},
    components: components,
    utils: { NavUtils: {}, StashService: {}, loadComponents: function () { return Promise.resolve(); } },
    hooks: {},
    patch: { before: before, instead: instead, after: after },
    Event: Event,
  };
  if (params.get("nobootstrap")) delete PluginApi.libraries.Bootstrap;
  if (params.get("nopatch")) delete PluginApi.patch;
  window.PluginApi = PluginApi;

  // -- src/plugins.tsx ---------------------------------------------------------------------
  function sortPlugins(plugins) {
    var nodes = {};
    var sorted = [];
    var visited = {};
    plugins.forEach(function (v) {
      var from = v.id;
      if (!nodes[from]) nodes[from] = { id: from, afters: [] };
      (v.requires || []).forEach(function (to) {
        if (!nodes[to]) nodes[to] = { id: to, afters: [] };
        if (nodes[to].afters.indexOf(from) < 0) nodes[to].afters.push(from);
      });
    });
    function visit(id, ancestors) {
      var node = nodes[id];
      if (visited[id]) return;
      ancestors.push(node.id);
      visited[id] = true;
      node.afters.forEach(function (afterID) {
        if (ancestors.indexOf(afterID) >= 0) throw new Error("closed chain : " + afterID + " is in " + node.id);
        visit(afterID, ancestors.slice());
      });
      var plugin = plugins.find(function (p) { return p.id === node.id; });
      if (plugin) sorted.unshift(plugin);
    }
    Object.keys(nodes).forEach(function (n) { visit(n, []); });
    return sorted;
  }

  function loadPlugins() {
    var query = "query Plugins { plugins { id enabled requires paths { javascript css } } }";
    return graphql(query).then(function (answer) {
      var plugins = sortPlugins((answer.data && answer.data.plugins) || []).filter(function (p) { return p.enabled; });
      var scripts = [];
      plugins.forEach(function (p) {
        ((p.paths && p.paths.css) || []).forEach(function (url) {
          var link = document.createElement("link");
          link.href = url;
          link.rel = "stylesheet";
          link.type = "text/css";
          document.head.appendChild(link);
        });
        ((p.paths && p.paths.javascript) || []).forEach(function (url) {
          if (scripts.indexOf(url) < 0) scripts.push(url);
        });
      });
      return Promise.all(
        scripts.map(function (url) {
          return new Promise(function (resolve) {
            var script = document.createElement("script");
            script.src = url;
            script.async = false;
            script.defer = true;
            script.addEventListener("load", resolve);
            script.addEventListener("error", resolve); // as useScript: a failed plugin does not stop the page
            document.head.appendChild(script);
          });
        })
      );
    });
  }

  // -- the scene page (Scene.tsx in miniature) ------------------------------------------------
  var ScenePageTabs = container("ScenePage.Tabs");
  var ScenePageTabContent = container("ScenePage.TabContent");

  function navItem(key, label) {
    return h(RB.Nav.Item, { key: key }, h(RB.Nav.Link, { eventKey: key }, label));
  }

  var ScenePage = PatchComponent("ScenePage", function (props) {
    var scene = props.scene;
    var tab = React.useState("scene-details-panel");
    var file = scene.files[0];
    return h(
      "div",
      { className: "scene-tabs" },
      h(
        "div",
        { className: "scene-header-container" },
        h("h3", { className: "scene-header" }, scene.title || (file ? file.basename : "Scene " + scene.id))
      ),
      h("div", { className: "scene-subheader" }, h("span", { className: "date" }, scene.date || "")),
      h(
        "div",
        { className: "scene-toolbar" },
        h("span", { className: "rating" }, "Rating: " + (scene.rating100 == null ? "-" : scene.rating100)),
        h("span", { className: "play-count" }, "Plays: " + (scene.play_count || 0))
      ),
      h(
        RB.Tab.Container,
        { activeKey: tab[0], onSelect: function (k) { if (k) tab[1](k); } },
        h(
          "div",
          null,
          h(
            RB.Nav,
            { variant: "tabs", className: "mr-auto" },
            h(
              ScenePageTabs,
              props,
              navItem("scene-details-panel", "Details"),
              navItem("scene-file-info-panel", "File Info"),
              navItem("scene-history-panel", "History")
            )
          )
        ),
        h(
          RB.Tab.Content,
          null,
          h(
            ScenePageTabContent,
            props,
            h(RB.Tab.Pane, { eventKey: "scene-details-panel", key: "details" },
              h("div", { className: "scene-details" }, scene.details || "No details")),
            h(RB.Tab.Pane, { eventKey: "scene-file-info-panel", key: "files", className: "file-info-panel" },
              h("dl", { className: "scene-files" },
                scene.files.map(function (f) { return h("dd", { key: f.path }, f.path); }))),
            h(RB.Tab.Pane, { eventKey: "scene-history-panel", key: "history" },
              h("div", { className: "scene-history" },
                "Plays: " + (scene.play_count || 0) + ", resume point: " + (scene.resume_time || 0) + " s"))
          )
        )
      )
    );
  });

  var SCENE_QUERY =
    "query FindScene($id: ID!) { findScene(id: $id) { id title details date rating100 play_count resume_time " +
    "files { path basename size } } }";

  function SceneLoader(props) {
    var state = React.useState(null);
    React.useEffect(
      function () {
        var live = true;
        state[1](null);
        graphql(SCENE_QUERY, { id: props.id }).then(function (answer) {
          if (live) state[1]((answer.data && answer.data.findScene) || { missing: true });
        });
        return function () { live = false; };
      },
      [props.id]
    );
    var scene = state[0];
    if (!scene) return h("div", { className: "loading" }, "Loading...");
    if (scene.missing) return h("div", { className: "error" }, "Scene not found");
    return h("div", { className: "row scene-page" }, h(ScenePage, { scene: scene, queueScenes: [], collapsed: false }));
  }

  var LIST_QUERY = "query Scenes { findScenes(filter: { per_page: 40, sort: \"id\" }) { scenes { id title } } }";

  function SceneList() {
    var state = React.useState([]);
    React.useEffect(function () {
      graphql(LIST_QUERY).then(function (answer) { state[1](answer.data.findScenes.scenes); });
    }, []);
    return h("ul", { className: "scene-list" }, state[0].map(function (s) {
      return h("li", { key: s.id }, h(Link, { to: "/scenes/" + s.id }, s.title || "Scene " + s.id));
    }));
  }

  function App() {
    var path = React.useState(window.location.pathname);
    React.useEffect(function () {
      var listen = function (p) { path[1](p); };
      locationListeners.push(listen);
      return function () { locationListeners.splice(locationListeners.indexOf(listen), 1); };
    }, []);
    var match = /^\/scenes\/(\d+)/.exec(path[0]);
    return h(
      "div",
      { className: "main container-fluid" },
      h("nav", { className: "top-nav" }, h(Link, { to: "/scenes", className: "brand" }, "Stash")),
      match ? h(SceneLoader, { id: match[1] }) : h(SceneList)
    );
  }

  function PluginsLoader() {
    var loaded = React.useState(false);
    React.useEffect(function () {
      loadPlugins().then(
        function () { loaded[1](true); },
        function () { loaded[1](true); }
      );
    }, []);
    return loaded[0] ? h(App) : h("div", { className: "loading" }, "Loading plugins...");
  }

  ReactDOM.render(h(PluginsLoader), document.getElementById("root"));
  Event.dispatch("location", "", { location: { pathname: window.location.pathname, search: window.location.search } });
})();
