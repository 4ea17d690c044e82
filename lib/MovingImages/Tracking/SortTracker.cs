using MovingImages.Geometry;

namespace MovingImages.Tracking;

/// <summary>Tracker settings (SORT's, by default).</summary>
/// <param name="MaxAge">Frames a track survives without a matching detection before it is dropped.</param>
/// <param name="MinHits">Consecutive matches before a new track is shown (the first frames of a video are exempt).</param>
/// <param name="IouThreshold">Minimum IoU for a detection to continue a track.</param>
/// <param name="PerClass">Match detections only to tracks of the same class.</param>
/// <param name="CoastFrames">0: plain SORT, where one missed detection hides a box until it has been matched
/// <see cref="MinHits"/> times in a row again (boxes blink). Above 0: a track, once confirmed, stays shown whenever it is
/// matched, and is shown at its predicted position for up to this many frames without a match.</param>
public sealed record TrackerOptions(int MaxAge = 5, int MinHits = 3, float IouThreshold = 0.3f, bool PerClass = true, int CoastFrames = 2)
{
    /// <summary>The defaults.</summary>
    public static TrackerOptions Default { get; } = new();
}

/// <summary>A tracked object in one frame: a detection with a stable id; the box is the Kalman-smoothed one.</summary>
/// <param name="TrackId">Stable id (1, 2, …) for as long as the object is tracked.</param>
/// <param name="Detection">Class, label, score (of the last matched detection) and the smoothed box.</param>
/// <param name="Predicted">True when the box is a prediction (no detection this frame).</param>
public sealed record Track(int TrackId, Detection Detection, bool Predicted);

/// <summary>
/// SORT (Bewley et al. 2016): a constant-velocity Kalman filter per object, Hungarian assignment of detections to
/// predicted tracks on IoU, tracks born after <see cref="TrackerOptions.MinHits"/> matches and dropped after
/// <see cref="TrackerOptions.MaxAge"/> frames unmatched. Gives boxes stable ids and smooths their jitter.
/// </summary>
public sealed class SortTracker
{
    sealed class State(int id, Detection detection)
    {
        public int Id { get; } = id;
        public KalmanBoxFilter Filter { get; } = new(detection.Box);
        public Detection Last { get; set; } = detection;
        public int HitStreak { get; set; }
        public int Hits { get; set; } = 1;
        public int SinceUpdate { get; set; }
        public bool Confirmed { get; set; }
    }

    readonly List<State> _tracks = new();
    int _nextId = 1;
    int _frame;

    /// <summary>Creates a tracker.</summary>
    public SortTracker(TrackerOptions? options = null) => Options = options ?? TrackerOptions.Default;

    /// <summary>The settings.</summary>
    public TrackerOptions Options { get; }

    /// <summary>Number of tracks alive (shown or not).</summary>
    public int LiveTracks => _tracks.Count;

    /// <summary>Feeds one frame's detections; returns the tracks to show for this frame.</summary>
    public IReadOnlyList<Track> Update(IReadOnlyList<Detection> detections)
    {
        _frame++;
        foreach (var t in _tracks) t.Filter.Predict();
        _tracks.RemoveAll(t => !float.IsFinite(t.Filter.Box.X) || !float.IsFinite(t.Filter.Box.Width));

        var assignment = Assign(detections);
        var matchedTracks = new HashSet<State>();
        for (int d = 0; d < detections.Count; d++)
        {
            int t = assignment[d];
            if (t >= 0)
            {
                var track = _tracks[t];
                track.Filter.Update(detections[d].Box);
                track.Last = detections[d];
                track.Hits++;
                track.HitStreak++;
                track.SinceUpdate = 0;
                matchedTracks.Add(track);
            }
            else
            {
                var born = new State(_nextId++, detections[d]);
                _tracks.Add(born);
                matchedTracks.Add(born);
            }
        }
        foreach (var t in _tracks.Where(t => !matchedTracks.Contains(t)))
        {
            t.SinceUpdate++;
            t.HitStreak = 0;
        }
        bool stabilised = Options.CoastFrames > 0;
        foreach (var t in _tracks)
            if (t.SinceUpdate == 0 && (t.HitStreak >= Options.MinHits - 1 || _frame <= Options.MinHits)) t.Confirmed = true;
        var shown = _tracks
            .Where(t => t.SinceUpdate == 0 && (t.HitStreak >= Options.MinHits - 1 || _frame <= Options.MinHits || (stabilised && t.Confirmed)))
            .Select(t => Show(t, predicted: false))
            .Concat(_tracks.Where(t => t.SinceUpdate > 0 && t.SinceUpdate <= Options.CoastFrames && t.Confirmed)
                .Select(t => Show(t, predicted: true)))
            .ToList();
        _tracks.RemoveAll(t => t.SinceUpdate > Options.MaxAge);
        return shown;
    }

    /// <summary>
    /// The size (detections + tracks) of the largest assignment problem solved in the last <see cref="Update"/>
    /// (<see cref="IouMatcher"/>): gating splits a frame into independent groups, so this stays small however many boxes
    /// a frame has.
    /// </summary>
    public int LargestAssignment { get; private set; }

    int[] Assign(IReadOnlyList<Detection> detections)
    {
        var trackBoxes = _tracks.Select(t => t.Filter.Box).ToArray();
        var match = IouMatcher.Match(detections.Select(d => d.Box).ToArray(), trackBoxes, Options.IouThreshold,
            Options.PerClass ? (d, t) => detections[d].ClassId == _tracks[t].Last.ClassId : null);
        LargestAssignment = match.LargestGroup;
        return match.TrackOf;
    }

    /// <summary>
    /// Advances a frame without detections (when detecting only every k-th frame): every confirmed track moves to its
    /// predicted position and is shown as predicted.
    /// </summary>
    public IReadOnlyList<Track> Predict()
    {
        _frame++;
        var shown = new List<Track>();
        foreach (var t in _tracks)
        {
            t.Filter.Predict();
            if (t.Confirmed && float.IsFinite(t.Filter.Box.X)) shown.Add(Show(t, predicted: true));
        }
        return shown;
    }

    static Track Show(State t, bool predicted) => new(t.Id, t.Last with { Box = t.Filter.Box }, predicted);
}
