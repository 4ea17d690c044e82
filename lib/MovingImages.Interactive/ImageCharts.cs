using MovingImages.FaceSwap;
using MovingImages.Video;

namespace MovingImages.Interactive;

/// <summary>
/// Static charts as ScottPlot plots: a notebook shows them as PNG images (see <see cref="NotebookDisplay.Register"/>);
/// <c>SavePng</c> writes them to a file. The interactive ones are in <see cref="Charts"/>.
/// </summary>
public static class ImageCharts
{
    /// <summary>Per-frame latency by stage (end to end, detect, decode, write) of a video run.</summary>
    public static ScottPlot.Plot Latency(RunStats stats)
    {
        ArgumentNullException.ThrowIfNull(stats);
        var plot = new ScottPlot.Plot();
        double[] x = stats.Timings.Select(t => (double)t.Index).ToArray();
        void Add(string label, Func<FrameTiming, double> pick) =>
            plot.Add.ScatterLine(x, stats.Timings.Select(pick).ToArray()).LegendText = label;
        Add("end to end", t => t.Latency);
        Add("detect", t => t.Detect);
        Add("decode", t => t.Decode);
        Add("write", t => t.Write);
        plot.Title($"Per-frame latency ({stats.Fps:0.0} fps end to end)");
        plot.XLabel("frame");
        plot.YLabel("ms");
        plot.ShowLegend();
        return plot;
    }

    /// <summary>Loss curves of A and B over the iterations of a training run.</summary>
    public static ScottPlot.Plot Losses(IReadOnlyList<TrainingStep> history)
    {
        ArgumentNullException.ThrowIfNull(history);
        var plot = new ScottPlot.Plot();
        double[] x = history.Select(h => (double)h.Iteration).ToArray();
        plot.Add.ScatterLine(x, history.Select(h => (double)h.LossA).ToArray()).LegendText = "loss A (A → A)";
        plot.Add.ScatterLine(x, history.Select(h => (double)h.LossB).ToArray()).LegendText = "loss B (B → B)";
        plot.XLabel("iteration");
        plot.YLabel("mean absolute error");
        plot.ShowLegend();
        return plot;
    }
}
