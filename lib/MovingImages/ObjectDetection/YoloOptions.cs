namespace MovingImages.ObjectDetection;

/// <summary>
/// The knobs of detection, in one place (the CLI, notebooks and tests read their defaults from here).
/// </summary>
/// <param name="InputSize">Network input side in pixels, a multiple of 32 (320 is faster, 608 finds smaller objects).</param>
/// <param name="Confidence">Minimum objectness × class probability (the book uses 0.5; darknet's demo 0.25).</param>
/// <param name="NmsIou">Boxes of one class overlapping more than this are merged by non-maximum suppression.</param>
public sealed record YoloOptions(int InputSize = 416, float Confidence = 0.5f, float NmsIou = 0.45f)
{
    /// <summary>416 × 416, confidence 0.5, NMS IoU 0.45.</summary>
    public static YoloOptions Default { get; } = new();

    /// <summary>Throws <see cref="ArgumentException"/> when a value is out of range.</summary>
    public YoloOptions Validate()
    {
        if (InputSize < 32 || InputSize % 32 != 0) throw new ArgumentException($"input size must be a positive multiple of 32 (e.g. 320, 416, 608), got {InputSize}");
        if (Confidence is < 0 or >= 1 || float.IsNaN(Confidence)) throw new ArgumentException($"confidence must be in [0, 1), got {Confidence}");
        if (NmsIou is <= 0 or > 1 || float.IsNaN(NmsIou)) throw new ArgumentException($"NMS IoU must be in (0, 1], got {NmsIou}");
        return this;
    }
}
