using System.Net;
using System.Text.Json;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Events;
using Microsoft.DotNet.Interactive.Formatting;
using XPlot.Plotly;

namespace MovingImages.Interactive;

/// <summary>
/// Draws XPlot.Plotly charts in notebook outputs <b>offline</b>: plotly.js (the npm package <c>plotly.js-dist-min</c>,
/// fetched and checked by the build, see lib/Build/NpmAssets.targets) lies beside this assembly, and the setup cell's
/// <see cref="NotebookDisplay.Register"/> puts it into the page once, as an output with nothing visible. Each chart's
/// output is a &lt;div&gt; and a short script that draws into it as soon as plotly.js is there — no CDN, no network, in
/// VS Code, Jupyter and a saved notebook reopened later (the setup cell's output comes first).
/// </summary>
public static class PlotlyJs
{
    /// <summary>The npm package version the build embeds.</summary>
    public const string Version = "4.1.2";

    static readonly Lazy<string?> Library = new(() => File.Exists(FilePath) ? File.ReadAllText(FilePath) : null);
    static readonly Lock Gate = new();
    static object? _loadedFor;

    /// <summary>Where the build puts plotly.min.js: <c>plotly/plotly.min.js</c> beside this assembly.</summary>
    public static string FilePath { get; } = Path.Combine(Path.GetDirectoryName(typeof(PlotlyJs).Assembly.Location) ?? AppContext.BaseDirectory, "plotly", "plotly.min.js");

    /// <summary>Whether plotly.js is there to embed.</summary>
    public static bool Available => Library.Value != null;

    /// <summary>What a chart shows when plotly.js is missing.</summary>
    public static string MissingMessage =>
        $"interactive chart not drawn: plotly.js is missing ({FilePath}). The build downloads it from registry.npmjs.org " +
        "(npm package plotly.js-dist-min); run `dotnet build` again with access to it.";

    /// <summary>
    /// The output that loads plotly.js into the page: a script that defines <c>window.Plotly</c> unless the page has it
    /// already, and no visible content. Null when plotly.js is missing.
    /// </summary>
    public static string? LoaderHtml() => Library.Value is { } lib
        ? $"<script type=\"text/javascript\" data-movingimages=\"plotly.js {Version}\">if (typeof window.Plotly === 'undefined') {{\n{lib}\n}}</script>"
        : null;

    /// <summary>
    /// Publishes <see cref="LoaderHtml"/> as an output of the running cell, once per cell run (called by
    /// <see cref="NotebookDisplay.Register"/> from the setup cell). Outside a kernel, does nothing.
    /// </summary>
    internal static void PublishLoader()
    {
        var context = KernelInvocationContext.Current;
        if (context?.Command is not { } command) return;
        lock (Gate)
        {
            if (ReferenceEquals(_loadedFor, command)) return;
            _loadedFor = command;
        }
        string html = LoaderHtml() ?? $"<p>{WebUtility.HtmlEncode(MissingMessage)}</p>";
        context.Publish(new DisplayedValueProduced(html, command, [new FormattedValue("text/html", html)]));
    }

    /// <summary>
    /// A chart's output: a &lt;div&gt; and a script that draws the chart with the page's plotly.js (waiting up to 20 s for
    /// it), zoomable and responsive. Titles given as strings (XPlot's layout) are turned into plotly.js 3+'s
    /// <c>{text: …}</c> form.
    /// </summary>
    public static string ChartHtml(PlotlyChart chart)
    {
        if (!Available) return $"<p>{WebUtility.HtmlEncode(MissingMessage)}</p>";
        string id = "mi-plot-" + Guid.NewGuid().ToString("N");
        chart.WithId(id);
        string missing = JsonSerializer.Serialize("plotly.js is not loaded in this page: run the notebook's first cell (NotebookDisplay.Register()) again.");
        return $$"""
            <div id="{{id}}" style="width: 100%; max-width: {{chart.Width}}px; height: {{chart.Height}}px;"></div>
            <script type="text/javascript">
            (function () {
              var tries = 0;
              function titles(o) {
                if (!o || typeof o !== 'object') return;
                if (typeof o.title === 'string') o.title = { text: o.title };
                delete o._isSubplotObj;
                for (var k in o) if (/^[xy]axis[0-9]*$/.test(k)) titles(o[k]);
              }
              function draw() {
                var Plotly = window.Plotly;
                if (!Plotly) {
                  if (tries++ < 200) { setTimeout(draw, 100); return; }
                  document.getElementById('{{id}}').innerText = {{missing}};
                  return;
                }
                {{chart.GetPlottingJS().Replace("Plotly.newPlot(", "titles(layout); Plotly.newPlot(").Replace("data, layout);", "data, layout, { responsive: true, displaylogo: false });")}}
              }
              draw();
            })();
            </script>
            """;
    }
}
