namespace MovingImages.Geometry;

/// <summary>Non-maximum suppression.</summary>
public static class Nms
{
    /// <summary>
    /// Greedy per-class NMS as darknet's <c>do_nms_sort</c>: within each class, highest score first, a box is dropped
    /// when its IoU with a kept box of that class exceeds <paramref name="iouThreshold"/>. Returns the kept
    /// detections sorted by descending score (ties: input order).
    /// </summary>
    public static IReadOnlyList<Detection> PerClass(IReadOnlyList<Detection> detections, float iouThreshold) =>
        PerClass(detections, iouThreshold, int.MaxValue);

    /// <summary>
    /// <see cref="PerClass(IReadOnlyList{Detection}, float)"/>, stopping once <paramref name="maxKept"/> kept boxes that
    /// <paramref name="counts"/> accepts (all, when null) are found: candidates are visited in one pass in descending
    /// score, and a box's fate depends only on higher-scoring kept boxes of its class, so the result is exactly the
    /// first boxes of the unlimited result — for a fraction of the work on a crowded frame.
    /// </summary>
    public static IReadOnlyList<Detection> PerClass(IReadOnlyList<Detection> detections, float iouThreshold, int maxKept, Func<Detection, bool>? counts = null)
    {
        var order = new int[detections.Count];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        Array.Sort(order, (x, y) => detections[y].Score.CompareTo(detections[x].Score) is var c && c != 0 ? c : x.CompareTo(y));
        var keptByClass = new Dictionary<int, List<Box>>();
        var kept = new List<Detection>();
        int counted = 0;
        foreach (int i in order)
        {
            if (counted >= maxKept) break;
            var d = detections[i];
            if (!keptByClass.TryGetValue(d.ClassId, out var same)) keptByClass[d.ClassId] = same = new List<Box>();
            bool suppressed = false;
            foreach (var k in same)
                if (d.Box.IoU(k) > iouThreshold) { suppressed = true; break; }
            if (suppressed) continue;
            same.Add(d.Box);
            kept.Add(d);
            if (counts is null || counts(d)) counted++;
        }
        return kept;
    }
}
