using System.Net;
using System.Text.Json;

namespace MovingImages.Interactive;

/// <summary>
/// HTML for plotly.js charts without a CDN: a chart's &lt;div&gt; and the script that draws it once the page has
/// plotly.js, and a standalone page that embeds plotly.js itself. The chart's data and layout are plotly.js JSON
/// (XPlot.Plotly's <c>GetPlottingJS</c>). Compiled into MovingImages.Interactive (notebook outputs) and
/// MovingImages.Notebooks (sweep reports) from this one file.
/// </summary>
internal static class PlotlyHtml
{
    /// <summary>Where the build puts plotly.min.js: <c>plotly/plotly.min.js</c> beside the assembly.</summary>
    public static string LibraryPath(Type besides) =>
        Path.Combine(Path.GetDirectoryName(besides.Assembly.Location) ?? AppContext.BaseDirectory, "plotly", "plotly.min.js");

    /// <summary>
    /// A chart's &lt;div&gt; and script. <paramref name="plottingJs"/> declares <c>data</c> and <c>layout</c> and calls
    /// <c>Plotly.newPlot('<paramref name="id"/>', data, layout)</c>. The script waits up to 20 s for <c>window.Plotly</c>;
    /// titles given as strings become plotly.js 3+'s <c>{text: …}</c>; the chart is responsive, without plotly's logo.
    /// </summary>
    public static string Chart(string id, string plottingJs, int width, int height, string missingMessage)
    {
        string missing = JsonSerializer.Serialize(missingMessage);
        string js = plottingJs.Replace("Plotly.newPlot(", "titles(layout); Plotly.newPlot(")
                              .Replace("data, layout);", "data, layout, { responsive: true, displaylogo: false });");
        return $$"""
            <div id="{{WebUtility.HtmlEncode(id)}}" style="width: 100%; max-width: {{width}}px; height: {{height}}px;"></div>
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
                  document.getElementById({{JsonSerializer.Serialize(id)}}).innerText = {{missing}};
                  return;
                }
                {{js}}
              }
              draw();
            })();
            </script>
            """;
    }

    /// <summary>The version plotly.min.js names in its first lines ("plotly.js v4.1.2"), or "unknown".</summary>
    public static string VersionOf(string library)
    {
        var m = System.Text.RegularExpressions.Regex.Match(library.Length > 400 ? library[..400] : library, @"plotly\.js v([0-9][0-9A-Za-z.+-]*)");
        return m.Success ? m.Groups[1].Value : "unknown";
    }

    /// <summary>The script that defines <c>window.Plotly</c> from <paramref name="library"/> unless the page has it already.</summary>
    public static string Loader(string library) =>
        $"<script type=\"text/javascript\" data-movingimages=\"plotly.js {VersionOf(library)}\">if (typeof window.Plotly === 'undefined') {{\n{library}\n}}</script>";

    /// <summary>A standalone page: a title, plotly.js embedded, then the given body (tables, charts).</summary>
    public static string Page(string title, string library, string body) =>
        $"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{WebUtility.HtmlEncode(title)}</title>" +
        "<style>body{font-family:sans-serif;margin:2em} table{border-collapse:collapse} td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}</style>" +
        $"{Loader(library)}</head><body><h1>{WebUtility.HtmlEncode(title)}</h1>\n{body}\n</body></html>\n";
}
