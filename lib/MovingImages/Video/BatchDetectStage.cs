using System.Collections.Concurrent;
using System.Diagnostics;

namespace MovingImages.Video;

/// <summary>
/// File mode, second stage: collects frames until <c>Batch</c> of them are marked for detection, runs the detector on
/// those in one call, and passes every frame on in order (the unmarked ones with no detections).
/// </summary>
internal sealed class BatchDetectStage(IFrameDetector detector, int batch, BlockingCollection<PipelineItem> input, BlockingCollection<PipelineItem> output)
{
    readonly List<PipelineItem> _buffer = [];

    /// <summary>Frames the detector ran on.</summary>
    public int FramesDetected { get; private set; }

    /// <summary>The stage's body.</summary>
    public void Run(CancellationToken failed)
    {
        foreach (var item in input.GetConsumingEnumerable(failed))
        {
            _buffer.Add(item);
            if (_buffer.Count(i => i.Detect) >= batch) Flush(failed);
        }
        Flush(failed);
    }

    void Flush(CancellationToken failed)
    {
        var toDetect = _buffer.Where(i => i.Detect).ToArray();
        if (toDetect.Length > 0)
        {
            long t0 = Stopwatch.GetTimestamp();
            var results = detector.Detect(toDetect.Select(i => i.Frame).ToArray());
            double each = Stopwatch.GetElapsedTime(t0).TotalMilliseconds / toDetect.Length;
            for (int k = 0; k < toDetect.Length; k++)
            {
                toDetect[k].Detections = results[k];
                toDetect[k].DetectMs = each;
            }
            FramesDetected += toDetect.Length;
        }
        while (_buffer.Count > 0)
        {
            output.Add(_buffer[0], failed);
            _buffer.RemoveAt(0);
        }
    }

    /// <summary>The stage's cleanup: drops what a failure left in the batch and completes the output.</summary>
    public void Complete()
    {
        foreach (var i in _buffer) i.Frame.Dispose();
        _buffer.Clear();
        output.CompleteAdding();
    }
}
