using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.DotNet.Interactive.Formatting;
using MovingImages.Imaging;
using MovingImages.ObjectDetection;
using MovingImages.Runtime;
using MovingImages.Video;
using OpenCvSharp;
using MovingImages.Geometry;

namespace MovingImages.Interactive;

/// <summary>A frame with a caption, shown as one image output (what the live view updates in place).</summary>
/// <param name="Jpeg">The frame, JPEG-encoded.</param>
/// <param name="Caption">Text under the image.</param>
public sealed record CaptionedImage(byte[] Jpeg, string Caption);

/// <summary>A progress bar with a caption, shown as one output (what <see cref="NotebookDisplay.ProgressBar{T}"/> updates in place).</summary>
/// <param name="Done">Steps done.</param>
/// <param name="Total">Steps in all.</param>
/// <param name="Caption">Text beside the bar.</param>
public sealed record ProgressState(int Done, int Total, string Caption);

/// <summary>
/// How MovingImages objects look in a notebook. <see cref="Register"/> adds formatters to .NET Interactive's
/// <see cref="Formatter"/>, which the real kernel (VS Code's Polyglot Notebooks, Jupyter's <c>.net-csharp</c>) and
/// <c>movingimages notebook run</c> use: images as PNG, detection results as the annotated image and a summary line,
/// detections as a table, plots as PNG, run statistics as a table. <see cref="LiveView"/>, <see cref="ProgressBar{T}"/> and <see cref="Show"/> make outputs
/// that update in place.
/// </summary>
public static class NotebookDisplay
{
    static readonly Lock Gate = new();
    static bool _registered;

#pragma warning disable CA2255 // registering on first use of this assembly is the point
    [ModuleInitializer]
    internal static void Initialize() => Register();
#pragma warning restore CA2255

    /// <summary>
    /// Registers the formatters, makes the native libraries in the build output loadable and lets interrupts stop the
    /// kernel's later cells (see <see cref="Cell"/>); once, later calls do nothing. Runs by itself the first time a type
    /// of this assembly is used; a notebook's setup cell calls it so that everything is in place before the first
    /// TorchSharp or OpenCV call.
    /// </summary>
    public static void Register()
    {
        lock (Gate)
        {
            if (!_registered)
            {
                _registered = true;
                NativeLibraries.Ensure();
                RegisterFormatters();
                InterruptSignal.Listen();
            }
            // Each kernel that loads us (our runner may run several in one process) has its cells tracked for interrupts.
            if (Microsoft.DotNet.Interactive.KernelInvocationContext.Current?.HandlingKernel is { } kernel) Cell.Track(kernel);
        }
        PlotlyJs.PublishLoader(); // plotly.js into the page, from the setup cell, for the interactive charts below it
    }

    static void RegisterFormatters()
    {
        Formatter.Register<Mat>((mat, writer) => writer.Write(Convert.ToBase64String(ImageFiles.ToPng(mat))), "image/png");
        Formatter.Register<Mat>((mat, writer) => writer.Write(ImgTag(mat)), "text/html");
        Formatter.SetPreferredMimeTypesFor(typeof(Mat), "image/png");

        Formatter.Register<ScottPlot.Plot>((plot, writer) => writer.Write(Convert.ToBase64String(plot.GetImageBytes(640, 360, ScottPlot.ImageFormat.Png))), "image/png");
        Formatter.SetPreferredMimeTypesFor(typeof(ScottPlot.Plot), "image/png");

        // The annotated image and one line; the table is what result.Detections shows (no second copy of it here).
        Formatter.Register<DetectionResult>((r, writer) => writer.Write(ImgTag(r.Annotated)
            + $"<p>{r.Detections.Count} objects ({WebUtility.HtmlEncode(string.Join(", ", r.Detections.GroupBy(d => d.Label).Select(g => g.Count() == 1 ? g.Key : $"{g.Count()} × {g.Key}")))}) in {r.Elapsed.TotalMilliseconds:0} ms at {r.Options.InputSize}×{r.Options.InputSize}</p>"), "text/html");
        Formatter.SetPreferredMimeTypesFor(typeof(DetectionResult), "text/html");

        Formatter.Register<IEnumerable<Detection>>((list, writer) => writer.Write(DetectionTable(list.ToArray())), "text/html");
        Formatter.SetPreferredMimeTypesFor(typeof(IEnumerable<Detection>), "text/html");

        Formatter.Register<CaptionedImage>((c, writer) => writer.Write(
            $"<figure style=\"margin:0\"><img src=\"data:image/jpeg;base64,{Convert.ToBase64String(c.Jpeg)}\"/><figcaption>{WebUtility.HtmlEncode(c.Caption)}</figcaption></figure>"), "text/html");
        Formatter.SetPreferredMimeTypesFor(typeof(CaptionedImage), "text/html");

        Formatter.Register<ProgressState>((p, writer) => writer.Write(
            $"<div><progress value=\"{p.Done}\" max=\"{p.Total}\" style=\"width:300px\"></progress> {p.Done}/{p.Total} · {WebUtility.HtmlEncode(p.Caption)}</div>"), "text/html");
        Formatter.Register<ProgressState>((p, writer) => writer.Write($"{p.Done}/{p.Total} · {p.Caption}"), "text/plain");
        Formatter.SetPreferredMimeTypesFor(typeof(ProgressState), "text/html");

        Formatter.Register<RunStats>((s, writer) => writer.Write(StatsTable(s)), "text/html");
        Formatter.Register<RunStats>((s, writer) => writer.Write(s.ToString()), "text/plain");
        // Short plain-text forms (the default would dump every property of these objects).
        Formatter.Register<Mat>((m, writer) => writer.Write($"Mat {m.Cols}×{m.Rows} {m.Type()}"), "text/plain");
        Formatter.Register<ScottPlot.Plot>((p, writer) => writer.Write("ScottPlot chart"), "text/plain");
        Formatter.Register<DetectionResult>((r, writer) => writer.Write(r.ToString()), "text/plain");
        Formatter.Register<CaptionedImage>((c, writer) => writer.Write(c.Caption), "text/plain");
        Formatter.Register<IEnumerable<Detection>>((list, writer) => writer.Write(string.Join("\n", list)), "text/plain");
        Formatter.Register<XPlot.Plotly.PlotlyChart>((c, writer) => writer.Write(PlotlyJs.ChartHtml(c)), "text/html");
        Formatter.Register<XPlot.Plotly.PlotlyChart>((c, writer) => writer.Write("interactive chart (plotly.js)"), "text/plain");
        Formatter.SetPreferredMimeTypesFor(typeof(XPlot.Plotly.PlotlyChart), "text/html");
        Formatter.Register<TableView>((t, writer) => writer.Write(t.ToHtml()), "text/html");
        Formatter.Register<TableView>((t, writer) => writer.Write(t.ToString()), "text/plain");
        Formatter.SetPreferredMimeTypesFor(typeof(RunStats), "text/html");
        Formatter.SetPreferredMimeTypesFor(typeof(TableView), "text/html");
    }

    /// <summary>An HTML &lt;img&gt; holding the image as PNG.</summary>
    public static string ImgTag(Mat image) => $"<img src=\"data:image/png;base64,{Convert.ToBase64String(ImageFiles.ToPng(image))}\"/>";

    /// <summary>Detections as an HTML table.</summary>
    public static string DetectionTable(IReadOnlyList<Detection> detections)
    {
        var sb = new StringBuilder("<table><thead><tr><th>label</th><th>class</th><th>score</th><th>x</th><th>y</th><th>w</th><th>h</th></tr></thead><tbody>");
        foreach (var d in detections)
            sb.Append($"<tr><td>{WebUtility.HtmlEncode(d.Label)}</td><td>{d.ClassId}</td><td>{d.Score:0.000}</td><td>{d.Box.X:0}</td><td>{d.Box.Y:0}</td><td>{d.Box.Width:0}</td><td>{d.Box.Height:0}</td></tr>");
        return sb.Append("</tbody></table>").ToString();
    }

    static string StatsTable(RunStats s)
    {
        var sb = new StringBuilder($"<p>{WebUtility.HtmlEncode(s.Source.ToString())}: {s.FramesOut} frames in {s.Wall.TotalSeconds:0.0} s, {s.Fps:0.0} fps{WebUtility.HtmlEncode(s.Ending)}; " +
                                   $"{s.FramesDropped} dropped, {s.FramesSkipped} undecodable</p><table><thead><tr><th>stage</th><th>p50 ms</th><th>p95 ms</th><th>max ms</th></tr></thead><tbody>");
        foreach (var st in s.Stages) sb.Append($"<tr><td>{st.Stage}</td><td>{st.P50:0.0}</td><td>{st.P95:0.0}</td><td>{st.Max:0.0}</td></tr>");
        return sb.Append("</tbody></table>").ToString();
    }

    /// <summary>The mime type of a <see cref="Record"/> output (what <c>movingimages notebook sweep</c> collects).</summary>
    public const string RecordMimeType = "application/vnd.movingimages.record+json";

    /// <summary>
    /// Records a value under <paramref name="name"/> — a number, text, a flag — as an output of the running cell (shown as
    /// "recorded name = value"), like scrapbook's <c>glue</c>: <c>movingimages notebook sweep</c> collects the recorded
    /// values of every run into its comparison table and charts. Outside a notebook kernel it does nothing.
    /// </summary>
    /// <exception cref="ArgumentException">An empty name.</exception>
    public static void Record(string name, object? value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        System.Text.Json.Nodes.JsonNode? node = value switch
        {
            null => null,
            double d when !double.IsFinite(d) => d.ToString(System.Globalization.CultureInfo.InvariantCulture), // JSON has no NaN
            float f when !float.IsFinite(f) => f.ToString(System.Globalization.CultureInfo.InvariantCulture),
            _ => System.Text.Json.JsonSerializer.SerializeToNode(value, value.GetType()),
        };
        string json = new System.Text.Json.Nodes.JsonObject { ["name"] = name, ["value"] = node }.ToJsonString();
        var context = Microsoft.DotNet.Interactive.KernelInvocationContext.Current;
        if (context?.Command is not { } command) return;
        context.Publish(new Microsoft.DotNet.Interactive.Events.DisplayedValueProduced(value, command,
            [new FormattedValue(RecordMimeType, json), new FormattedValue("text/plain", $"recorded {name} = {TableView.Cell(value)}")]));
    }

    /// <summary>Rows as a table, one column per public property: <c>NotebookDisplay.Table(results.Select(r =&gt; new { r.Name, r.Score }))</c>.</summary>
    public static TableView Table<T>(IEnumerable<T> rows) => TableView.Of(rows);

    /// <summary>
    /// Shows <paramref name="initial"/> as an output of the running cell and returns the display, whose
    /// <see cref="LiveDisplay.Update"/> replaces it in place (from any thread): <c>var preview = NotebookDisplay.Show("…");
    /// … preview.Update(grid);</c>
    /// </summary>
    public static LiveDisplay Show(object initial) => new(initial);

    /// <summary>
    /// A sink that shows the current annotated frame in one output of the running cell, updated in place, with an
    /// fps/objects caption. Made on the cell's thread (it creates the output there); fed by the pipeline's threads.
    /// Updates are throttled to <paramref name="maxPerSecond"/>; the last frame is always shown, so the executed
    /// notebook keeps the final frame.
    /// </summary>
    public static LiveViewSink LiveView(string placeholder = "starting…", double maxPerSecond = 4, int maxWidth = 640) =>
        new(new LiveDisplay(placeholder), maxPerSecond, maxWidth);

    /// <summary>
    /// A progress bar in one output of the running cell, updated in place: each report counts one step of
    /// <paramref name="total"/> and <paramref name="caption"/> says what it was (for training: iteration, losses,
    /// samples/s). Throttled to <paramref name="maxPerSecond"/>; the last step is always shown. Reports are taken on the
    /// reporting thread, at once and in order.
    /// <code>faceit.Train(n, options, NotebookDisplay.ProgressBar&lt;TrainingStep&gt;(n, s =&gt; $"loss A {s.LossA:0.000}"));</code>
    /// </summary>
    public static IProgress<T> ProgressBar<T>(int total, Func<T, string> caption, double maxPerSecond = 4)
    {
        var display = new LiveDisplay(new ProgressState(0, total, "starting…"));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        double last = double.NegativeInfinity;
        int done = 0;
        return new InlineProgress<T>(value =>
        {
            done++;
            double now = clock.Elapsed.TotalSeconds;
            if (done < total && now - last < 1 / maxPerSecond) return;
            last = now;
            display.Update(new ProgressState(done, total, caption(value)));
        });
    }

    internal static CaptionedImage Captioned(Mat image, string caption, int maxWidth) => new(Shrink(image, maxWidth), caption);

    static byte[] Shrink(Mat image, int maxWidth)
    {
        if (image.Cols <= maxWidth)
        {
            Cv2.ImEncode(".jpg", image, out var direct, new ImageEncodingParam(ImwriteFlags.JpegQuality, 80));
            return direct;
        }
        using var small = new Mat();
        Cv2.Resize(image, small, new Size(maxWidth, image.Rows * maxWidth / image.Cols), interpolation: InterpolationFlags.Area);
        Cv2.ImEncode(".jpg", small, out var bytes, new ImageEncodingParam(ImwriteFlags.JpegQuality, 80));
        return bytes;
    }

    /// <summary>Images side by side (same height; the others are scaled), each with a caption drawn on top.</summary>
    public static Mat SideBySide(params (Mat Image, string Caption)[] images)
    {
        if (images.Length == 0) throw new ArgumentException("no images");
        foreach (var (image, caption) in images)
            if (image is null || image.Empty())
                throw new ArgumentException($"image '{caption}' is empty (a frame past the end of a video, or a failed read?)");
        int height = images[0].Image.Rows;
        var parts = new List<Mat>();
        try
        {
            foreach (var (image, caption) in images)
            {
                var part = new Mat();
                Cv2.Resize(image, part, new Size(image.Cols * height / image.Rows, height));
                Cv2.PutText(part, caption, new Point(8, 28), HersheyFonts.HersheySimplex, 0.8, Scalar.Black, 4, LineTypes.AntiAlias);
                Cv2.PutText(part, caption, new Point(8, 28), HersheyFonts.HersheySimplex, 0.8, Scalar.White, 2, LineTypes.AntiAlias);
                parts.Add(part);
            }
            return Drawing.ImageGrid.Compose([parts]);
        }
        finally
        {
            parts.ForEach(p => p.Dispose());
        }
    }
}
