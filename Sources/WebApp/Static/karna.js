// Kärna's clinician app: the little script it needs. Everything works without it; it adds the
// session timer with a warning before the session ends, and keeps drafts of forms on the server as
// they are typed, so a note being written survives an idle timeout.
(function () {
  "use strict";
  var body = document.body;
  var formToken = body.getAttribute("data-form-token") || "";
  var seconds = parseInt(body.getAttribute("data-session-seconds") || "0", 10);
  var ending, warning, notice;

  // The server says how long the session has left (each page, each draft saved, each keep-alive);
  // the warning comes two minutes before (a quarter of the time for short sessions).
  function restart(left) {
    clearTimeout(ending);
    clearTimeout(warning);
    hideNotice();
    if (!(left > 0)) { return; }
    var ahead = Math.min(120, Math.floor(left / 4));
    warning = setTimeout(function () { showNotice(ahead); }, (left - ahead) * 1000);
    ending = setTimeout(function () {
      window.location.assign("/login?orsak=timeout&tillbaka=" + encodeURIComponent(window.location.pathname + window.location.search));
    }, left * 1000);
  }

  function post(path, data) {
    data.set("formToken", formToken);
    // A session that ended answers with a redirect to the login page: "manual" lets the script see it.
    return fetch(path, { method: "POST", body: data, credentials: "same-origin", redirect: "manual" }).then(function (response) {
      if (response.type === "opaqueredirect" || !response.ok) { throw new Error("not saved"); }
      return response.json();
    });
  }

  function showNotice(ahead) {
    hideNotice();
    notice = document.createElement("div");
    notice.className = "notice warn session-warning";
    notice.setAttribute("role", "alert");
    var text = document.createElement("p");
    var minutes = Math.max(1, Math.round(ahead / 60));
    text.textContent = "Du loggas ut om " + (ahead >= 60 ? minutes + (minutes === 1 ? " minut" : " minuter") : ahead + " sekunder") +
      " utan aktivitet. Det du skriver i en anteckning sparas som utkast.";
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = "Fortsätt arbeta";
    button.addEventListener("click", function () {
      post("/session/aktiv", new URLSearchParams()).then(function (answer) { restart(answer.seconds); }, function () {
        text.textContent = "Sessionen har redan tagit slut. Logga in igen.";
      });
    });
    notice.appendChild(text);
    notice.appendChild(button);
    var main = document.getElementById("main");
    (main || body).insertBefore(notice, (main || body).firstChild);
    button.focus();
  }

  function hideNotice() {
    if (notice && notice.parentNode) { notice.parentNode.removeChild(notice); }
    notice = null;
  }

  if (seconds > 0) { restart(seconds); }

  // Drafts: a form marked data-draft is saved on the server two seconds after the last keystroke.
  // Saving reaches the server, so typing counts as activity and renews the session.
  var draftForm = document.querySelector("form[data-draft]");
  if (draftForm) {
    var pending;
    var status = draftForm.querySelector("[data-draft-status]");
    var say = function (text) { if (status) { status.textContent = text; } };
    var save = function () {
      var data = new URLSearchParams(new FormData(draftForm));
      data.set("draftForm", draftForm.getAttribute("data-draft"));
      data.set("draftPatient", draftForm.getAttribute("data-patient") || "");
      post("/utkast", data).then(function (answer) {
        var now = new Date();
        say("Utkastet sparades kl. " + ("0" + now.getHours()).slice(-2) + ":" + ("0" + now.getMinutes()).slice(-2) + ".");
        restart(answer.seconds);
      }, function () {
        say("Utkastet kunde inte sparas. Kopiera texten innan du lämnar sidan.");
      });
    };
    draftForm.addEventListener("input", function () {
      clearTimeout(pending);
      pending = setTimeout(save, 2000);
    });
  }

  // Code fields (diagnoses, substances): what is typed is looked up on the server, which holds the whole
  // code system, and the field's suggestions are replaced by its answer. A field of several codes
  // (data-many: secondary diagnoses, procedures) looks up the code being typed after the last comma and
  // offers the codes already chosen with it, so a suggestion never replaces them.
  document.querySelectorAll("input[data-lookup]").forEach(function (input) {
    var waiting, asked = 0, many = input.hasAttribute("data-many");
    input.addEventListener("input", function () {
      clearTimeout(waiting);
      var head = "", text = input.value;
      if (many) {
        var cut = Math.max(text.lastIndexOf(","), text.lastIndexOf(";"));
        if (cut >= 0) { head = text.slice(0, cut + 1).replace(/\s*$/, " "); text = text.slice(cut + 1); }
      }
      text = text.trim();
      if (text.length < 2) { return; }
      waiting = setTimeout(function () {
        var question = ++asked;
        fetch(input.getAttribute("data-lookup") + "?q=" + encodeURIComponent(text), { credentials: "same-origin", redirect: "manual" })
          .then(function (response) { if (!response.ok) { throw new Error("no answer"); } return response.json(); })
          .then(function (entries) {
            var list = document.getElementById(input.getAttribute("list"));
            if (!list || question !== asked) { return; }
            while (list.firstChild) { list.removeChild(list.firstChild); }
            entries.forEach(function (entry) {
              var option = document.createElement("option");
              // Several codes are separated by commas, and a display may hold one: only the code goes in.
              option.value = many ? head + entry.code : entry.code + " " + entry.display;
              if (many) { option.label = head + entry.code + " " + entry.display; }
              list.appendChild(option);
            });
          }, function () { /* the field still takes a typed code */ });
      }, 200);
    });
  });

  // The e-recept's patient text, generated by the server from the form as the doctor types.
  document.querySelectorAll("form[data-live-text]").forEach(function (form) {
    var waiting, asked = 0, out = document.getElementById("live-text");
    if (!out) { return; }
    function update() {
      clearTimeout(waiting);
      waiting = setTimeout(function () {
        var question = ++asked;
        fetch(form.getAttribute("data-live-text"), { method: "POST", credentials: "same-origin", redirect: "manual",
          headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(new FormData(form)).toString() })
          .then(function (response) { if (!response.ok) { throw new Error("no answer"); } return response.json(); })
          .then(function (answer) {
            if (question !== asked) { return; }
            while (out.firstChild) { out.removeChild(out.firstChild); }
            answer.lines.forEach(function (line, index) {
              if (index > 0) { out.appendChild(document.createElement("br")); }
              out.appendChild(document.createTextNode(line));
            });
          }, function () { /* "Kontrollera" still shows the text */ });
      }, 250);
    }
    form.addEventListener("input", update);
    form.addEventListener("change", update);
  });

  // Deadlines on a live list: an element with data-due (milliseconds since 1970) is marked breached from that
  // moment, and one with data-since counts the minutes since then — the tracking board's colours flip on time
  // without a reload.
  function markDeadlines() {
    var now = Date.now();
    document.querySelectorAll("[data-due]").forEach(function (element) {
      element.classList.toggle("breached", now >= parseInt(element.getAttribute("data-due"), 10));
    });
    document.querySelectorAll("[data-since]").forEach(function (element) {
      element.textContent = Math.max(0, Math.floor((now - parseInt(element.getAttribute("data-since"), 10)) / 60000)) + " min";
    });
  }
  // A live list (the tracking board): its rows are fetched again whenever the server's event stream
  // (data-live-events) says they changed, and at the refresh it also sends when nothing did.
  document.querySelectorAll("[data-live-rows]").forEach(function (region) {
    var rows = region.getAttribute("data-live-rows");
    function refresh() {
      fetch(rows, { credentials: "same-origin", redirect: "manual" }).then(function (response) {
        if (response.type === "opaqueredirect" || !response.ok) { throw new Error("not fetched"); }
        return response.text();
      }).then(function (html) {
        region.innerHTML = html;
        region.setAttribute("data-refreshed", String(Date.now()));
        markDeadlines();
      }, function () { /* the next event tries again */ });
    }
    var events = region.getAttribute("data-live-events");
    if (events && window.EventSource) {
      new EventSource(events).addEventListener("changed", refresh);
    }
  });
  if (document.querySelector("[data-due], [data-since]")) {
    markDeadlines();
    setInterval(markDeadlines, 5000);
  }
  // A live outcome (the triage colour): the form's fields go to data-live-outcome on each change and the
  // answer's text is shown in the element data-outcome-target names, with the answer's class.
  document.querySelectorAll("form[data-live-outcome]").forEach(function (form) {
    var target = document.getElementById(form.getAttribute("data-outcome-target"));
    var pending;
    function ask() {
      clearTimeout(pending);
      pending = setTimeout(function () {
        post(form.getAttribute("data-live-outcome"), new URLSearchParams(new FormData(form))).then(function (answer) {
          target.textContent = answer.text;
          target.className = "outcome " + (answer.className || "");
        }, function () { /* the saved triage still computes the colour */ });
      }, 200);
    }
    form.addEventListener("input", ask);
    form.addEventListener("change", ask);
  });

  // A print button (the receipt): no inline handlers, so the Content-Security-Policy can forbid them.
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-print]")) { window.print(); }
  });
  // A form asks once more before an action that cannot be undone.
  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });
})();
