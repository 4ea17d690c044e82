using MovingImages.FaceSwap;
using MovingImages.Video;
using XPlot.Plotly;

namespace MovingImages.Interactive;

/// <summary>
/// The recipes' interactive charts (XPlot.Plotly, drawn offline by <see cref="PlotlyJs"/>): zoom, pan and hover where a
/// reader would rather explore than look. Static images are ScottPlot PNGs (<see cref="ImageCharts"/>).
/// </summary>
public static class Charts
{
    /// <summary>Training losses of A and B per iteration (log scale), from <see cref="FaceIt.TrainingHistory"/> or <see cref="FaceIt.Train"/>.</summary>
    public static PlotlyChart TrainingLosses(IReadOnlyList<TrainingStep> history, string title = "Training loss (mean absolute error)")
    {
        ArgumentNullException.ThrowIfNull(history);
        var x = history.Select(s => s.Iteration).ToArray();
        var chart = Chart.Plot(new Trace[]
        {
            new Scatter { x = x, y = history.Select(s => (double)s.LossA).ToArray(), name = "loss A (A → A)", mode = "lines" },
            new Scatter { x = x, y = history.Select(s => (double)s.LossB).ToArray(), name = "loss B (B → B)", mode = "lines" },
        });
        chart.WithLayout(new Layout.Layout
        {
            title = title, xaxis = new Xaxis { title = "iteration" }, yaxis = new Yaxis { title = "loss", type = "log" },
        });
        chart.WithSize(900, 420);
        return chart;
    }

    /// <summary>Per frame of a video run: end-to-end latency and detection time (ms, left axis) and objects shown (right axis).</summary>
    public static PlotlyChart FrameTimes(RunStats stats)
    {
        ArgumentNullException.ThrowIfNull(stats);
        var t = stats.Timings;
        var x = t.Select(f => f.Index).ToArray();
        var chart = Chart.Plot(new Trace[]
        {
            new Scatter { x = x, y = t.Select(f => f.Latency).ToArray(), name = "end to end (ms)", mode = "lines" },
            new Scatter { x = x, y = t.Select(f => f.Detect).ToArray(), name = "detect (ms)", mode = "lines" },
            new Scatter { x = x, y = t.Select(f => (double)f.Objects).ToArray(), name = "objects", mode = "lines", yaxis = "y2", line = new Line { dash = "dot" } },
        });
        chart.WithLayout(new Layout.Layout
        {
            title = $"Per frame: latency and objects ({stats.Fps:0.0} fps end to end)", xaxis = new Xaxis { title = "frame" },
            yaxis = new Yaxis { title = "ms" }, yaxis2 = new Yaxis { title = "objects", overlaying = "y", side = "right" },
        });
        chart.WithSize(900, 420);
        return chart;
    }

    /// <summary>
    /// A comparison of settings: one bar per setting for <paramref name="leftName"/> (left axis) and, when given, a line
    /// for <paramref name="rightName"/> (right axis) — e.g. objects found and ms per image for each input size.
    /// </summary>
    public static PlotlyChart Compare(string title, IReadOnlyList<string> settings, string leftName, IReadOnlyList<double> left,
        string? rightName = null, IReadOnlyList<double>? right = null)
    {
        if (settings.Count != left.Count || (right != null && right.Count != settings.Count))
            throw new ArgumentException($"{settings.Count} settings need as many values ({left.Count} and {right?.Count ?? left.Count} given)");
        var traces = new List<Trace> { new Bar { x = settings.ToArray(), y = left.ToArray(), name = leftName } };
        if (rightName != null && right != null)
            traces.Add(new Scatter { x = settings.ToArray(), y = right.ToArray(), name = rightName, mode = "lines+markers", yaxis = "y2" });
        var chart = Chart.Plot(traces);
        chart.WithLayout(new Layout.Layout
        {
            title = title, yaxis = new Yaxis { title = leftName },
            yaxis2 = rightName != null ? new Yaxis { title = rightName, overlaying = "y", side = "right" } : null,
        });
        chart.WithSize(800, 400);
        return chart;
    }
}
