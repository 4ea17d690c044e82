using System.Net;
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
    static readonly Lazy<string?> Library = new(() => File.Exists(FilePath) ? File.ReadAllText(FilePath) : null);
    static readonly Lock Gate = new();
    static object? _loadedFor;

    /// <summary>Where the build puts plotly.min.js: <c>plotly/plotly.min.js</c> beside this assembly.</summary>
    public static string FilePath { get; } = PlotlyHtml.LibraryPath(typeof(PlotlyJs));

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
    public static string? LoaderHtml() => Library.Value is { } lib ? PlotlyHtml.Loader(lib) : null;

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
    /// it), zoomable and responsive (<see cref="PlotlyHtml.Chart"/>).
    /// </summary>
    public static string ChartHtml(PlotlyChart chart)
    {
        if (!Available) return $"<p>{WebUtility.HtmlEncode(MissingMessage)}</p>";
        string id = "mi-plot-" + Guid.NewGuid().ToString("N");
        chart.WithId(id);
        return PlotlyHtml.Chart(id, chart.GetPlottingJS(), chart.Width, chart.Height,
            "plotly.js is not loaded in this page: run the notebook's first cell (NotebookDisplay.Register()) again.");
    }
}
