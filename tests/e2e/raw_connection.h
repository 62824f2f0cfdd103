// RawConnection: a plain TCP connection to 127.0.0.1:port for the HTTP ports' abuse tests
// (half-sent requests, silent clients, bytes no HTTP client library would send). Closed on
// destruction; sends and receives time out after 10 s.
#ifndef ROLLCALL_TESTS_E2E_RAW_CONNECTION_H_
#define ROLLCALL_TESTS_E2E_RAW_CONNECTION_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace rollcall::testing {

class RawConnection {
 public:
  explicit RawConnection(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
    timeval timeout{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  }
  ~RawConnection() { close(fd_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }
  int fd() const { return fd_; }
  bool Send(const std::string& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }
  // Whether the peer closed the connection without sending anything (false: data arrived, or
  // nothing did within the receive timeout).
  bool ClosedUnanswered() {
    char byte;
    const ssize_t got = recv(fd_, &byte, 1, 0);
    return got == 0 || (got < 0 && errno == ECONNRESET);
  }
  // Everything the peer sends until it closes (or the receive timeout passes in silence).
  std::string ReadAll() {
    std::string out;
    char buffer[65536];
    ssize_t got;
    while ((got = recv(fd_, buffer, sizeof(buffer), 0)) > 0) {
      out.append(buffer, static_cast<size_t>(got));
    }
    return out;
  }

 private:
  int fd_;
  bool connected_ = false;
};

}  // namespace rollcall::testing

#endif  // ROLLCALL_TESTS_E2E_RAW_CONNECTION_H_
