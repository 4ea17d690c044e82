using System.Collections.Concurrent;

namespace MovingImages.Video;

/// <summary>
/// The stages of one run, each on a thread of its own for the whole run (native allocators keep per-thread caches).
/// The first stage that throws records its error and cancels <see cref="Failed"/>, which the others watch; every stage's
/// cleanup runs whatever happens.
/// </summary>
internal sealed class StageThreads : IDisposable
{
    readonly CancellationTokenSource _failed = new();
    readonly List<Thread> _threads = [];

    /// <summary>Cancelled when a stage fails.</summary>
    public CancellationToken Failed => _failed.Token;
    /// <summary>What the stages threw (a cancellation caused by another stage's failure is not an error).</summary>
    public ConcurrentQueue<Exception> Errors { get; } = new();

    /// <summary>A stage: its body, and its cleanup (complete its output queue, dispose what it holds).</summary>
    public void Add(string name, Action body, Action cleanup) => _threads.Add(new Thread(() =>
    {
        try { body(); }
        catch (OperationCanceledException) when (_failed.IsCancellationRequested) { } // another stage failed first
        catch (Exception e)
        {
            Errors.Enqueue(e);
            _failed.Cancel();
        }
        finally { cleanup(); }
    }) { Name = name, IsBackground = true });

    /// <summary>Starts every stage and waits for all of them.</summary>
    public void RunAll()
    {
        foreach (var t in _threads) t.Start();
        foreach (var t in _threads) t.Join();
    }

    /// <inheritdoc/>
    public void Dispose() => _failed.Dispose();
}
