namespace MovingImages.ObjectDetection;

/// <summary>Non-maximum suppression.</summary>
public static class Nms
{
    /// <summary>
    /// Greedy per-class NMS as darknet's <c>do_nms_sort</c>: within each class, highest score first, a box is dropped
    /// when its IoU with a kept box of that class exceeds <paramref name="iouThreshold"/>. Returns the kept
    /// detections sorted by descending score (ties: input order).
    /// </summary>
    public static IReadOnlyList<Detection> PerClass(IReadOnlyList<Detection> detections, float iouThreshold)
    {
        var kept = new List<(Detection D, int Order)>();
        foreach (var group in detections.Select((d, i) => (D: d, Order: i)).GroupBy(x => x.D.ClassId))
        {
            var sorted = group.OrderByDescending(x => x.D.Score).ThenBy(x => x.Order).ToList();
            var keptHere = new List<Box>();
            foreach (var candidate in sorted)
            {
                bool suppressed = false;
                foreach (var k in keptHere)
                {
                    if (candidate.D.Box.IoU(k) > iouThreshold) { suppressed = true; break; }
                }
                if (suppressed) continue;
                keptHere.Add(candidate.D.Box);
                kept.Add(candidate);
            }
        }
        return kept.OrderByDescending(x => x.D.Score).ThenBy(x => x.Order).Select(x => x.D).ToArray();
    }
}
