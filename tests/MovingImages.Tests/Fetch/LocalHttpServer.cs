using System.Net;
using System.Net.Sockets;

namespace MovingImages.Tests.Fetch;

/// <summary>A small HTTP server on 127.0.0.1 serving byte arrays, honouring Range requests (or not, when told).</summary>
public sealed class LocalHttpServer : IDisposable
{
    readonly HttpListener _listener = new();
    readonly Dictionary<string, byte[]> _files = new();
    readonly Task _loop;
    public List<string?> RangeHeaders { get; } = new();
    public bool HonourRanges { get; set; } = true;
    public int Port { get; }

    public LocalHttpServer()
    {
        Port = FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(Loop);
    }

    public string Add(string name, byte[] content)
    {
        lock (_files) _files["/" + name] = content;
        return $"http://127.0.0.1:{Port}/{name}";
    }

    public static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    async Task Loop()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext ctx;
            try { ctx = await _listener.GetContextAsync(); }
            catch (Exception) { return; }
            _ = Task.Run(() => Serve(ctx)); // one request at a time would stall clients that open a second connection
        }
    }

    async Task Serve(HttpListenerContext ctx)
    {
        try
        {
            byte[]? body;
            lock (_files) _files.TryGetValue(ctx.Request.Url!.AbsolutePath, out body);
            var range = ctx.Request.Headers["Range"];
            lock (RangeHeaders) RangeHeaders.Add(range);
            if (body == null) { ctx.Response.StatusCode = 404; ctx.Response.Close(); return; }
            long from = 0;
            if (HonourRanges && range != null && range.StartsWith("bytes=") && range.EndsWith("-"))
            {
                from = long.Parse(range[6..^1]);
                if (from >= body.Length)
                {
                    ctx.Response.StatusCode = 416;
                    ctx.Response.Close();
                    return;
                }
                ctx.Response.StatusCode = 206;
                ctx.Response.Headers["Content-Range"] = $"bytes {from}-{body.Length - 1}/{body.Length}";
            }
            ctx.Response.ContentLength64 = body.Length - from;
            await ctx.Response.OutputStream.WriteAsync(body.AsMemory((int)from));
            ctx.Response.Close();
        }
        catch (Exception) { /* client went away */ }
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        try { _loop.Wait(2000); } catch (AggregateException) { }
    }
}
